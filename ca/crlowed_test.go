package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/smallstep/certificates/cas/apiv1"
	"github.com/smallstep/certificates/cas/softcas"

	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestRevocationStandsWhenTheCRLCannotBeSigned: a revocation is never
// refused because its CRL cannot be signed (the HSM gone, the key failing):
// the revocation and its audit record are committed, the CRL is left as it
// was and marked owed, and RefreshCRLs reissues it, listing the
// revocation, as soon as the key signs again, well before its half-life;
// once reissued it is no longer owed. Both CRLs: the ORL (an Organisation
// Certificate, Issuing OCA key) and the ARL (the issuing CA, root key).
func TestRevocationStandsWhenTheCRLCannotBeSigned(t *testing.T) {
	t.Parallel()
	for _, crlName := range []string{ORL, ARL} {
		t.Run(crlName, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			cas, issuer := &e.ca.issCAS, e.ca.Issuing()
			serial := ""
			if crlName == ARL {
				cas, issuer = &e.ca.rootCAS, e.ca.Root()
				serial = SerialHex(e.ca.Issuing().SerialNumber)
			} else {
				_, csr := newCSR(t, nil)
				cert, _, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
				if err != nil {
					t.Fatal(err)
				}
				serial = SerialHex(cert.SerialNumber)
			}
			good := *cas
			signer, err := good.GetSigner()
			if err != nil {
				t.Fatal(err)
			}
			broken, err := softcas.New(ctx, apiv1.Options{Type: apiv1.SoftCAS,
				CertificateChain: []*x509.Certificate{issuer}, Signer: brokenSigner{Signer: signer}})
			if err != nil {
				t.Fatal(err)
			}
			before := mustCRL(t, e, crlName)
			_, _, audit0 := counts(t, e.st)

			*cas = broken
			e.clock.Advance(time.Minute)
			revs, err := e.ca.Revoke(ctx, []string{serial}, 1, time.Time{}, store.AuditEntry{Actor: "test", Action: "revoke", Result: "ok"})
			if err != nil || len(revs) != 1 {
				t.Fatalf("Revoke with the %s key failing = %v, %v; want the revocation recorded", crlName, revs, err)
			}
			var rec store.Certificate
			_ = e.st.View(ctx, func(tx store.Tx) (err error) { rec, err = tx.GetCertificate(serial); return })
			if rec.Status != store.StatusRevoked {
				t.Errorf("certificate %s is %s after the revocation, want revoked", serial, rec.Status)
			}
			if _, _, audit := counts(t, e.st); audit != audit0+1 {
				t.Errorf("%d audit entries appended, want the revocation's 1", audit-audit0)
			}
			if now := mustCRL(t, e, crlName); now.Number.Cmp(before.Number) != 0 {
				t.Errorf("%s reissued (number %v, was %v) although its key cannot sign", crlName, now.Number, before.Number)
			}
			if st, err := e.ca.CRLStatus(ctx, crlName); err != nil || !st.Owed {
				t.Errorf("CRLStatus(%s) after the unsigned revocation = %+v, %v; want it owed", crlName, st, err)
			}
			// Still failing: the refresh says so and the CRL stays owed.
			e.clock.Advance(time.Minute)
			if err := e.ca.RefreshCRLs(ctx); !errors.Is(err, ErrSigning) {
				t.Errorf("RefreshCRLs with the key failing = %v, want ErrSigning", err)
			}

			// The key signs again: the next refresh (a minute later, far
			// from the half-life) publishes the revocation.
			*cas = good
			e.clock.Advance(time.Minute)
			if err := e.ca.RefreshCRLs(ctx); err != nil {
				t.Fatal(err)
			}
			after := mustCRL(t, e, crlName)
			if after.Number.Cmp(before.Number) <= 0 {
				t.Fatalf("%s not reissued once its key signs again (number %v, was %v)", crlName, after.Number, before.Number)
			}
			listed := false
			for _, en := range after.RevokedCertificateEntries {
				listed = listed || SerialHex(en.SerialNumber) == serial
			}
			if !listed {
				t.Errorf("reissued %s does not list %s", crlName, serial)
			}
			if st, err := e.ca.CRLStatus(ctx, crlName); err != nil || st.Owed {
				t.Errorf("CRLStatus(%s) once reissued = %+v, %v; want it no longer owed", crlName, st, err)
			}
			// No longer owed: the next refresh leaves it alone.
			e.clock.Advance(time.Minute)
			if err := e.ca.RefreshCRLs(ctx); err != nil {
				t.Fatal(err)
			}
			if again := mustCRL(t, e, crlName); again.Number.Cmp(after.Number) != 0 {
				t.Errorf("%s reissued again (number %v, was %v) once it listed every revocation", crlName, again.Number, after.Number)
			}
		})
	}
}
