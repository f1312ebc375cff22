package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/internal/softhsmtest"
)

// TestPKCS11KeyStoreUnderConcurrentUse drives one KeyStore on a fresh
// SoftHSM2 token the way a running smki serve does, all at once: many
// goroutines sign with keys that exist (issuance, the bundle and feed,
// the access CRL), others generate keys and sign with them at once (the
// access CA and the system signer at start-up, a signer rotation), and
// the module is closed and opened again under them (outage recovery,
// refind). Every signature and every key must come out, each signature
// verifying: a token that answers must never fail an operation because
// another ran beside it.
// Not parallel: it sets SOFTHSM2_CONF for the process.
func TestPKCS11KeyStoreUnderConcurrentUse(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	var tick atomic.Int64 // each reading of the clock is a reopenEvery later
	cfg := Config{KMS: uri, Clock: func() time.Time {
		return testStart.Add(time.Duration(tick.Add(1)) * reopenEvery)
	}}
	ks, err := OpenKeyStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	var existing []crypto.Signer
	for _, name := range []string{"root", "issuing"} {
		s, _, err := ks.CreateSigner(name)
		if err != nil {
			t.Fatalf("CreateSigner(%s) before the stress: %v", name, err)
		}
		existing = append(existing, s)
	}

	const (
		rounds   = 6
		signers  = 6 // goroutines signing with the existing keys
		signs    = 4 // signatures each, per round
		creators = 2 // goroutines generating a key and signing with it
	)
	var failures atomic.Int32
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	sign := func(what string, s crypto.Signer) {
		digest := sha256.Sum256([]byte(what))
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			fail("%s: %v", what, err)
			return
		}
		if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
			fail("%s: the signature does not verify", what)
		}
	}
	for round := range rounds {
		var wg sync.WaitGroup
		for g := range signers {
			wg.Go(func() {
				for i := range signs {
					sign(fmt.Sprintf("round %d: signer %d, signature %d", round, g, i), existing[(g+i)%len(existing)])
				}
			})
		}
		for g := range creators {
			wg.Go(func() {
				s, ref, err := ks.CreateSigner(fmt.Sprintf("stress-%d", g))
				if err != nil {
					fail("round %d: creator %d: CreateSigner: %v", round, g, err)
					return
				}
				sign(fmt.Sprintf("round %d: creator %d, new key %s", round, g, ref), s)
			})
		}
		// Outage recovery: the module is closed and opened again, as
		// refind does after a failed signature, while the rest go on.
		wg.Go(func() {
			ks.mu.Lock()
			gen := ks.gen
			ks.mu.Unlock()
			ts := existing[round%len(existing)].(*tokenSigner)
			if _, _, err := ks.refind(ts.ref, ts.pub, gen); err != nil {
				fail("round %d: reopening the module: %v", round, err)
			}
		})
		wg.Wait()
	}
	if n := failures.Load(); n > 0 {
		t.Errorf("%d operations failed on a token that was there throughout", n)
	}
}
