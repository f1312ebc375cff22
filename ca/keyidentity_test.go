package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/smki/smki/internal/csrtest"
	"github.com/smki/smki/internal/errcodes"
	"github.com/smki/smki/role"
)

// TestFinding2OneKeyOneIdentity is issue 12's finding 2: crypto/x509 parses
// a SubjectPublicKeyInfo with trailing elements (in the SPKI SEQUENCE or its
// AlgorithmIdentifier) back to the same key, so a hash of the CSR's raw SPKI
// gave one key several identities and the key-reuse check let it be
// certified for two users. ParseCSR and Issue refuse every such encoding
// (ErrCSRNotCanonical), and KeyHash is the same for every encoding of a key.
func TestFinding2OneKeyOneIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	wantHash := hex.EncodeToString(sum[:])
	variants, err := csrtest.NonCanonical(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	// The key is certified for the SC user from a canonical CSR.
	first := issueReq(csrFor(t, key, nil), XMLSigning, userSC, partySRP, role.SoLRContingency)
	if _, rec, err := e.ca.Issue(ctx, first); err != nil {
		t.Fatal(err)
	} else if rec.KeyHash != wantHash {
		t.Fatalf("stored key hash %s, want the canonical SPKI's %s", rec.KeyHash, wantHash)
	}
	for _, v := range variants {
		der, err := csrtest.Build(key, nil, v.SPKI)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatalf("%s: crypto/x509 refuses it, the case is moot: %v", v.Name, err)
		}
		if !parsed.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
			t.Fatalf("%s: parses to another key", v.Name)
		}
		if h, err := KeyHash(parsed.PublicKey); err != nil || h != wantHash {
			t.Errorf("%s: KeyHash = %s, %v; want %s", v.Name, h, err, wantHash)
		}
		if _, err := ParseCSR(der); !errors.Is(err, ErrCSRNotCanonical) {
			t.Errorf("ParseCSR %s: err = %v, want %v", v.Name, err, ErrCSRNotCanonical)
		}
		// The same key for another user, bypassing ParseCSR: refused.
		other := issueReq(parsed, DigitalSigning, userIS, partySupA, role.ImportSupplier)
		if cert, _, err := e.ca.Issue(ctx, other); err == nil || cert != nil {
			t.Errorf("Issue %s: the key certified for SC was certified again for IS", v.Name)
		} else if !errors.Is(err, ErrCSRNotCanonical) {
			t.Errorf("Issue %s: err = %v, want %v", v.Name, err, ErrCSRNotCanonical)
		}
	}
}

// FuzzParseCSRSPKI offers ParseCSR correctly self-signed requests whose
// SubjectPublicKeyInfo is any byte string, seeded with the non-canonical
// re-encodings of finding 2. Whatever it accepts must be in canonical DER,
// so that the raw bytes, the re-encoding and KeyHash all name one key.
func FuzzParseCSRSPKI(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	canon, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	f.Add(canon)
	variants, err := csrtest.NonCanonical(&key.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range variants {
		f.Add(v.SPKI)
	}
	f.Fuzz(func(t *testing.T, spki []byte) {
		der, err := csrtest.Build(key, nil, spki)
		if err != nil {
			return
		}
		csr, err := ParseCSR(der)
		if err != nil {
			errcodes.Coded(t, err)
			return
		}
		re, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
		if err != nil || string(re) != string(csr.RawSubjectPublicKeyInfo) {
			t.Fatalf("accepted a non-canonical SPKI %x (canonical %x)", csr.RawSubjectPublicKeyInfo, re)
		}
	})
}
