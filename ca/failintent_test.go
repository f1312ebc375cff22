package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"regexp"
	"testing"

	"github.com/smallstep/certificates/cas/apiv1"
	"github.com/smallstep/certificates/cas/softcas"

	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// brokenSigner is the issuing key failing after the intent is recorded:
// an HSM that errors, or one that returns a signature that does not verify.
type brokenSigner struct {
	crypto.Signer
	garbage bool // return a wrong signature instead of an error
}

var errHSM = errors.New("injected: HSM refused to sign")

func (s brokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.garbage {
		sig, err := s.Signer.Sign(rand, digest, opts)
		if err == nil {
			sig[len(sig)-1] ^= 0xFF
		}
		return sig, err
	}
	return nil, errHSM
}

// TestSigningFailureFailsTheIntent: when the issuing key fails after step
// 5 recorded the intent, Issue returns ErrSigning and no certificate, and
// failIntent marks that intent failed (not left open for reconciliation):
// no certificate and no issuance audit record is stored under its serial,
// which is burnt; the next issuance, with the key working again, gets a
// fresh serial.
func TestSigningFailureFailsTheIntent(t *testing.T) {
	t.Parallel()
	for _, garbage := range []bool{false, true} {
		name := map[bool]string{false: "signer errors", true: "signature does not verify"}[garbage]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			good := e.ca.issCAS
			signer, err := good.GetSigner()
			if err != nil {
				t.Fatal(err)
			}
			broken, err := softcas.New(ctx, apiv1.Options{Type: apiv1.SoftCAS,
				CertificateChain: []*x509.Certificate{e.ca.issuing, e.ca.root}, Signer: brokenSigner{signer, garbage}})
			if err != nil {
				t.Fatal(err)
			}
			_, certs0, audit0 := counts(t, e.st)
			e.ca.issCAS = broken
			e.ca.selfCheck.made.Store(0) // the next signature is one the sampled self-check verifies
			_, csr := newCSR(t, nil)
			cert, _, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
			if !errors.Is(err, ErrSigning) || cert != nil {
				t.Fatalf("Issue = %v, %v; want ErrSigning and no certificate", cert, err)
			}
			if _, certs, audit := counts(t, e.st); certs != certs0 || audit != audit0 {
				t.Fatalf("after the failure: %d certificates (was %d), %d audit entries (was %d); want neither written",
					certs, certs0, audit, audit0)
			}
			var open []store.Intent
			_ = e.st.View(ctx, func(tx store.Tx) (err error) { open, err = tx.OpenIntents(); return })
			if len(open) != 0 {
				t.Errorf("intents left open after a signing failure: %+v", open)
			}
			m := regexp.MustCompile(`signing ([0-9A-Fa-f]+): `).FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("the error names no serial: %v", err)
			}
			failed := m[1]
			assertIntent(t, e.st, failed, store.IntentFailed)
			e.ca.issCAS = good
			_, rec, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
			if err != nil || rec.Serial == failed {
				t.Fatalf("issue with the key working again: serial %s (failed one %s), %v", rec.Serial, failed, err)
			}
			assertIntent(t, e.st, failed, store.IntentFailed)
		})
	}
}
