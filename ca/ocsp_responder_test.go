package ca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestIssueOCSPResponder: the delegated responder certificate has the
// shape RFC 6960 asks for, chains to the Issuing OCA, and is recorded with
// an audit entry; bad requests write nothing.
func TestIssueOCSPResponder(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := env.ca.IssueOCSPResponder(ctx, key.Public(), "node-1", 48*time.Hour)
	if err != nil {
		t.Fatalf("IssueOCSPResponder: %v", err)
	}
	if err := cert.CheckSignatureFrom(env.ca.Issuing()); err != nil {
		t.Fatalf("does not chain to the Issuing OCA: %v", err)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Errorf("ExtKeyUsage = %v, want only OCSPSigning", cert.ExtKeyUsage)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage = %v, want digitalSignature", cert.KeyUsage)
	}
	var nocheck bool
	for _, e := range cert.Extensions {
		nocheck = nocheck || e.Id.Equal(OIDOCSPNoCheck)
	}
	if !nocheck {
		t.Error("no id-pkix-ocsp-nocheck extension")
	}
	if got := cert.NotAfter.Sub(testStart); got != 48*time.Hour {
		t.Errorf("valid for %s after now, want 48h", got)
	}
	if cert.IsCA || !bytes.Equal(cert.AuthorityKeyId, env.ca.Issuing().SubjectKeyId) {
		t.Errorf("IsCA %v, AKID %x (issuing SKID %x)", cert.IsCA, cert.AuthorityKeyId, env.ca.Issuing().SubjectKeyId)
	}
	err = env.st.View(ctx, func(tx store.Tx) error {
		rec, err := tx.GetCertificate(SerialHex(cert.SerialNumber))
		if err != nil {
			return err
		}
		if rec.Profile != ProfileOCSPResponder || !bytes.Equal(rec.DER, cert.Raw) {
			t.Errorf("recorded %+v", rec)
		}
		in, err := tx.GetIntent(rec.Serial)
		if err != nil || in.State != store.IntentCompleted {
			t.Errorf("intent %+v, %v", in, err)
		}
		audit, err := tx.AuditEntries(1, 0)
		if err != nil || len(audit) == 0 || audit[len(audit)-1].Action != "ca.ocsp_responder.issue" {
			t.Errorf("last audit entry: %+v, %v", audit, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	before := issuanceSeq(t, env.st)
	for _, tc := range []struct {
		name     string
		pub      any
		validity time.Duration
		want     error
	}{
		{"too long", key.Public(), MaxOCSPResponderValidity + time.Second, ErrBadRequest},
		{"zero", key.Public(), 0, ErrBadRequest},
		{"P-384", mustKey(t, elliptic.P384()).Public(), time.Hour, ErrKeyAlgorithm},
	} {
		if _, err := env.ca.IssueOCSPResponder(ctx, tc.pub, "node-1", tc.validity); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if after := issuanceSeq(t, env.st); after != before {
		t.Errorf("refused requests recorded certificates: issuance seq %d -> %d", before, after)
	}
}

func mustKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issuanceSeq(t *testing.T, st store.Store) uint64 {
	t.Helper()
	var n uint64
	if err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.IssuanceSeq()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
