package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/smallstep/certificates/cas/apiv1"

	"github.com/smki/smki/store"
)

// signARL signs tmpl with e's root key directly, bypassing IssueARL's own
// checks and lints: how a faulty or hostile ceremony would make an ARL.
func signARL(t testing.TB, e *testEnv, tmpl *x509.RevocationList) []byte {
	t.Helper()
	resp, err := e.ca.rootCAS.CreateCRL(&apiv1.CreateCRLRequest{RevocationList: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	return resp.CRL
}

// TestImportARL: the online side installs the ceremony's ARL only if it is
// one CRL, signed by the stored root under its name, lint-clean, newer than
// the stored ARL, current, at most MaxARLLifetime long, and lists every
// issuing CA the store holds as revoked; each refusal has its code and
// writes nothing. A good import (thisUpdate within the skew) is what CRL
// serves, is audited, cannot be replayed, and revokes an issuing CA the
// ceremony revoked.
func TestImportARL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cer := newEnv(t)
	on := onlineCopy(t, cer)
	incomplete := onlineCopy(t, cer) // gets a revoked root-issued record the ceremony never saw
	stranger := newEnv(t)            // another CA, same default root name
	t0 := cer.clock.Now()

	// What the ceremony and others produce.
	arl1 := storedCRL(t, cer.st, ARL).DER // the ARL both sides already hold
	good, err := cer.ca.IssueARL(ctx, 180*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	short, err := cer.ca.IssueARL(ctx, MinARLLifetime)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := stranger.ca.IssueARL(ctx, 180*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	orl := storedCRL(t, cer.st, ORL).DER
	now := t0.UTC().Truncate(time.Second)
	tooLong := signARL(t, cer, &x509.RevocationList{Number: big.NewInt(100), ThisUpdate: now, NextUpdate: now.Add(MaxARLLifetime + time.Hour)})
	listsRoot := signARL(t, cer, &x509.RevocationList{Number: big.NewInt(100), ThisUpdate: now, NextUpdate: now.Add(ARLLifetime),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: cer.ca.Root().SerialNumber, RevocationTime: now}}})
	// RFC 5280: a revocation cannot postdate the CRL's thisUpdate.
	lintFail := signARL(t, cer, &x509.RevocationList{Number: big.NewInt(100), ThisUpdate: now, NextUpdate: now.Add(ARLLifetime),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(0x5a5a), RevocationTime: now.Add(time.Hour)}}})
	pemGood := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: good.DER})

	// incomplete's store holds a revoked issuing CA the ceremony's ARL omits.
	err = incomplete.st.Update(ctx, func(tx store.Tx) error {
		rec := store.Certificate{Serial: "7e57", Issuer: IssuerRoot, Profile: profileIssuingCA, NotBefore: t0,
			NotAfter: t0.Add(time.Hour), IssuedAt: t0, DER: []byte{0x30, 0}, Status: store.StatusGood}
		if err := tx.PutCertificate(rec); err != nil {
			return err
		}
		_, err := tx.Revoke("7e57", 1, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	at := func(d time.Duration) ImportOptions {
		return ImportOptions{Clock: func() time.Time { return t0.Add(d) }}
	}
	refusals := []struct {
		name string
		st   store.Store
		data []byte
		opts ImportOptions
		want error
	}{
		{"garbage", on.st, []byte("not a CRL"), at(0), ErrARLInvalid},
		{"empty", on.st, nil, at(0), ErrARLInvalid},
		{"truncated", on.st, good.DER[:len(good.DER)-7], at(0), ErrARLInvalid},
		{"trailing data", on.st, append(append([]byte{}, good.DER...), 0), at(0), ErrARLInvalid},
		{"PEM of a certificate", on.st, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good.DER}), at(0), ErrARLInvalid},
		{"two PEM blocks", on.st, append(append([]byte{}, pemGood...), pemGood...), at(0), ErrARLInvalid},
		{"too large", on.st, make([]byte, MaxARLSize+1), at(0), ErrTooLarge},
		{"wrong signer, same name", on.st, foreign.DER, at(0), ErrARLIssuer},
		{"the ORL (issuing CA's name)", on.st, orl, at(0), ErrARLIssuer},
		{"fails a CRL lint", on.st, lintFail, at(0), ErrLint},
		{"same number as stored", on.st, arl1, at(0), ErrARLNumber},
		{"expired", on.st, short.DER, at(MinARLLifetime + time.Second), ErrARLExpired},
		{"expired exactly at nextUpdate", on.st, short.DER, at(MinARLLifetime), ErrARLExpired},
		{"thisUpdate in the future", on.st, good.DER, at(-ARLImportSkew - time.Minute), ErrARLNotYetValid},
		{"longer than MaxARLLifetime", on.st, tooLong, at(0), ErrARLInvalid},
		{"lists the root", on.st, listsRoot, at(0), ErrARLInvalid},
		{"omits a revoked issuing CA", incomplete.st, good.DER, at(0), ErrARLIncomplete},
	}
	for _, tt := range refusals {
		before := storedCRL(t, tt.st, ARL)
		_, _, a0 := counts(t, tt.st)
		_, err := ImportARL(ctx, tt.st, tt.data, tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		_, _, a1 := counts(t, tt.st)
		if after := storedCRL(t, tt.st, ARL); after.Number != before.Number || !bytes.Equal(after.DER, before.DER) || a1 != a0 {
			t.Errorf("%s: a refusal wrote (ARL %d -> %d, %d audit entries)", tt.name, before.Number, after.Number, a1-a0)
		}
	}

	// A good import, as PEM, 4 minutes before the ceremony's clock (skew).
	got, err := ImportARL(ctx, on.st, pemGood, ImportOptions{Clock: at(-4 * time.Minute).Clock, Actor: "ceremony-officer"})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if got.CRL.Number != good.Number || got.Previous == 0 || got.Previous >= good.Number || len(got.Revoked) != 0 {
		t.Errorf("import = number %d, previous %d, %d revoked", got.CRL.Number, got.Previous, len(got.Revoked))
	}
	served, err := on.ca.CRL(ctx, ARL)
	if err != nil || !bytes.Equal(served, good.DER) {
		t.Fatalf("served ARL is not the imported one: %v", err)
	}
	if st, err := on.ca.ARLStatus(ctx); err != nil || st.State != ARLOK || st.Number != good.Number {
		t.Errorf("ARLStatus after import: %+v, %v", st, err)
	}
	var last store.AuditEntry
	_ = on.st.View(ctx, func(tx store.Tx) error {
		all, err := tx.AuditEntries(1, 0)
		if len(all) > 0 {
			last = all[len(all)-1]
		}
		return err
	})
	if last.Action != "ca.arl.import" || last.Actor != "ceremony-officer" || last.Result != "ok" {
		t.Errorf("audit entry: %+v", last)
	}
	// The same ARL again, and the older one, are replays.
	for _, der := range [][]byte{good.DER, arl1} {
		if _, err := ImportARL(ctx, on.st, der, at(0)); !errors.Is(err, ErrARLNumber) {
			t.Errorf("replay: %v, want ErrARLNumber", err)
		}
	}

	// The ceremony revokes the Issuing OCA: its ARL revokes it online too,
	// with the same reason and time, in the revocation sequence.
	issuing := SerialHex(cer.ca.Issuing().SerialNumber)
	cer.clock.Advance(time.Hour)
	if _, err := cer.ca.Revoke(ctx, []string{issuing}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	next, err := cer.ca.IssueARL(ctx, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	seq0 := revocationSeq(t, on.st)
	got, err = ImportARL(ctx, on.st, next.DER, at(time.Hour))
	if err != nil {
		t.Fatalf("import of the ARL revoking the Issuing OCA: %v", err)
	}
	if len(got.Revoked) != 1 || got.Revoked[0].Serial != issuing || got.Revoked[0].Reason != 1 ||
		!got.Revoked[0].RevokedAt.Equal(t0.Add(time.Hour).Truncate(time.Second)) || got.Revoked[0].Seq != seq0+1 {
		t.Errorf("revoked with the import: %+v", got.Revoked)
	}
	if s := certStatus(t, on.st, issuing); s != store.StatusRevoked {
		t.Errorf("Issuing OCA is %s online after importing the ARL that revokes it", s)
	}
	// From now on every ARL must list it.
	later := now.Add(time.Hour)
	omits := signARL(t, cer, &x509.RevocationList{Number: big.NewInt(math.MaxInt64), ThisUpdate: later, NextUpdate: later.Add(ARLLifetime)})
	if _, err := ImportARL(ctx, on.st, omits, at(time.Hour)); !errors.Is(err, ErrARLIncomplete) {
		t.Errorf("an ARL that drops the revoked Issuing OCA: %v, want ErrARLIncomplete", err)
	}
}
