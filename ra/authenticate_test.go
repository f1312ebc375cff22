package ra

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// failingStore fails the View of an authentication as a store does for a
// moment: the whole View (inView), or its officer read.
type failingStore struct {
	store.Store
	err    atomic.Pointer[error]
	inView bool
}

func (s *failingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	p := s.err.Load()
	switch {
	case p == nil:
		return s.Store.View(ctx, fn)
	case s.inView:
		return *p
	}
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(failingTx{Tx: tx, err: *p}) })
}

type failingTx struct {
	store.Tx
	err error
}

func (t failingTx) GetOfficer(string) (store.Officer, error) { return store.Officer{}, t.err }

// authRefusals returns the audit records of refused authentications.
func authRefusals(t *testing.T, st store.Store) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	for _, e := range ratest.AuditTail(t, st, 1<<20) {
		if e.Action == string(ActAuthenticate) {
			out = append(out, e)
		}
	}
	return out
}

// TestAuthenticateStoreFailureIsNoRefusal: when the store fails for a
// moment (contention beyond its retries, a connection lost beyond its
// wait, the store closing) Authenticate answers busy or unavailable (503
// over HTTP, Retry-After when busy), and no refusal of the officer is
// audited: none happened. Nor is one for the store's own fault. A real
// refusal (a certificate of another CA, an unknown officer, a removed
// officer, a superseded credential) is audited as before.
func TestAuthenticateStoreFailureIsNoRefusal(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	cert := func(id string) *x509.Certificate { return ratest.ParseCert(t, s.cred[id].CertPEM) }
	sro, aro := cert("sro-a"), cert("aro-a")
	conflict := fmt.Errorf("postgres: gave up after 10 retries: %w: ERROR: could not serialize access (SQLSTATE 40001)", store.ErrConflict)
	lost := fmt.Errorf("postgres: gave up after losing the connection for 5s (3 attempts): %w: %w", store.ErrConflict, io.ErrUnexpectedEOF)
	closed := fmt.Errorf("bolt: %w", store.ErrClosed)

	failures := []struct {
		name   string
		inView bool
		err    error
		class  Class
		code   string
	}{
		{"contention, reading the officer", false, conflict, ClassBusy, "E_RA_BUSY"},
		{"contention, beginning the read", true, conflict, ClassBusy, "E_RA_BUSY"},
		{"connection lost, reading the officer", false, lost, ClassBusy, "E_RA_BUSY"},
		{"connection lost, beginning the read", true, lost, ClassBusy, "E_RA_BUSY"},
		{"store closed, beginning the read", true, closed, ClassUnavailable, "E_STORE_CLOSED"},
		{"store fault", false, errors.New("disk I/O error"), ClassInternal, "E_RA_INTERNAL"},
	}
	for _, tc := range failures {
		fs := &failingStore{Store: s.st, inView: tc.inView}
		svc, err := New(fs, s.ca, s.svc.access, WithClock(s.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		svc.FlushRefusals() // every refusal is written at once
		fs.err.Store(&tc.err)
		before := len(authRefusals(t, s.st))
		_, err = svc.Authenticate(ctx, sro)
		fs.err.Store(nil)
		if err == nil || ClassOf(err) != tc.class || CodeOf(err) != tc.code {
			t.Errorf("%s: %v (class %d, %s), want class %d, %s", tc.name, err, ClassOf(err), CodeOf(err), tc.class, tc.code)
		}
		if got := authRefusals(t, s.st); len(got) != before {
			t.Errorf("%s: audited as a refusal of the officer: %+v", tc.name, got[before:])
		}
		if _, err := svc.Authenticate(ctx, sro); err != nil {
			t.Errorf("%s: once the store is back: %v", tc.name, err)
		}
	}

	// Real refusals are audited as before.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sro-a"},
		NotBefore: s.clock.Now().Add(-time.Hour), NotAfter: s.clock.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := x509.ParseCertificate(der)
	ghostCred, err := s.svc.access.IssueOfficer("ghost", KindARO, s.supplier.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.svc.RenewOfficerCredential(ctx, s.sroSup, "sro-a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RemoveOfficer(ctx, s.admin, "aro-a"); err != nil {
		t.Fatal(err)
	}
	s.svc.FlushRefusals()
	refusals := []struct {
		name string
		cert *x509.Certificate
		code error
	}{
		{"certificate of another CA", foreign, ErrUnauthenticated},
		{"unknown officer", ratest.ParseCert(t, ghostCred.CertPEM), ErrUnauthenticated},
		{"removed officer", aro, ErrOfficerInactive},
		{"superseded credential", sro, ErrOfficerInactive},
	}
	for _, tc := range refusals {
		before := len(authRefusals(t, s.st))
		_, err := s.svc.Authenticate(ctx, tc.cert)
		if !errors.Is(err, tc.code) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
			continue
		}
		got := authRefusals(t, s.st)
		if len(got) != before+1 {
			t.Errorf("%s: %d refusal records, want 1", tc.name, len(got)-before)
			continue
		}
		if e := got[before]; e.Actor != "unauthenticated:"+tc.cert.Subject.CommonName || e.Subject != "serial:"+fmt.Sprintf("%x", tc.cert.SerialNumber) ||
			e.Result != "refused: "+tc.code.Error() {
			t.Errorf("%s: audit record %+v", tc.name, e)
		}
	}
}
