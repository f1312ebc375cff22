package raserver

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// env is a real RA over a real CA on a bbolt store in a temp dir.
type env struct {
	t     testing.TB
	dir   string
	st    store.Store
	ca    *ca.CA
	svc   *ra.Service
	clock *ratest.Clock
	admin ra.Actor // bootstrap ra-operator
	cred  map[string]ownpki.Credential
	keys  *ratest.MemKeys // the access CA's and system signer's key store
	// signer is the system signer (OU=89) the Service publishes with.
	signer *ownpki.SystemSigner
}

// roots is a pool holding the SMKI root.
func (e *env) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(e.ca.Root())
	return p
}

func newEnv(t testing.TB) *env { return newEnvSigner(t, false) }

// newSignedEnv is newEnv whose Service publishes (bundle, feed) with a
// system signer certified by the CA.
func newSignedEnv(t testing.TB) *env { return newEnvSigner(t, true) }

func newEnvSigner(t testing.TB, signed bool) *env { return newEnvOn(t, signed, nil) }

// newEnvOn is newEnvSigner on the store open returns (given the env's
// temp dir); nil open means bbolt in that dir.
func newEnvOn(t testing.TB, signed bool, open func(dir string) (store.Store, error)) *env {
	t.Helper()
	return newEnvAt(t, signed, open, ratest.Start)
}

// newEnvAt is newEnvOn whose clock starts at start: a client that checks
// the server's certificate at the wall clock (the CLI's) needs the wall
// clock's time, as the server's access certificate lasts 90 days.
func newEnvAt(t testing.TB, signed bool, open func(dir string) (store.Store, error), start time.Time) *env {
	t.Helper()
	p := ratest.NewPKI(t, open, start)
	opts := []ra.Option{ra.WithClock(p.Clock.Now)}
	var sig *ownpki.SystemSigner
	if signed {
		sig = p.SystemSigner(t)
		opts = append(opts, ra.WithSystemSigner(sig))
	}
	svc, err := ra.New(p.Store, p.CA, p.Access, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Bootstrap(context.Background(), p.Dir); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: p.Dir, st: p.Store, ca: p.CA, svc: svc, clock: p.Clock, cred: map[string]ownpki.Credential{}, keys: p.Keys, signer: sig}
	e.admin = e.actorFromDir(filepath.Join(p.Dir, "officers", "admin"))
	return e
}

// actorFromDir authenticates the credential in dir (its cert.pem).
func (e *env) actorFromDir(dir string) ra.Actor {
	e.t.Helper()
	return e.actor(ownpki.Credential{CertPEM: ratest.ReadFile(e.t, filepath.Join(dir, "cert.pem"))})
}

// actor authenticates a credential the way the server does.
func (e *env) actor(c ownpki.Credential) ra.Actor {
	e.t.Helper()
	a, err := e.svc.Authenticate(context.Background(), ratest.ParseCert(e.t, c.CertPEM))
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) party(id, name string) eui64.ID {
	e.t.Helper()
	pid := eui64.MustParse(id)
	if _, err := e.svc.CreateParty(context.Background(), e.admin, pid, name); err != nil {
		e.t.Fatal(err)
	}
	return pid
}

func (e *env) user(id string, party eui64.ID, r role.UserRole) eui64.ID {
	e.t.Helper()
	uid := eui64.MustParse(id)
	if _, err := e.svc.CreateUser(context.Background(), e.admin, uid, party, r, "user "+id); err != nil {
		e.t.Fatal(err)
	}
	return uid
}

func (e *env) officer(by ra.Actor, id, kind string, party eui64.ID) ra.Actor {
	e.t.Helper()
	_, c, err := e.svc.AppointOfficer(context.Background(), by, ra.OfficerRequest{ID: id, Name: "ra.Officer " + id, Kind: kind, PartyID: party})
	if err != nil {
		e.t.Fatal(err)
	}
	e.cred[id] = c
	return e.actor(c)
}

// scenario: a supplier party with SRO and ARO and an IS user, and an SRP
// party with an SRO and an SC user.
type scenario struct {
	*env
	supplier, srp         eui64.ID
	userIS, userSC        eui64.ID
	sroSup, aroSup, sroSR ra.Actor
}

func scenarioOf(e *env) *scenario {
	s := &scenario{env: e}
	s.supplier = e.party("90-B3-D5-1F-30-00-00-01", "Supplier A")
	s.srp = e.party("90-B3-D5-1F-30-00-00-12", "Shared Resource Provider")
	s.userIS = e.user("90-B3-D5-1F-30-01-00-01", s.supplier, role.ImportSupplier)
	s.userSC = e.user("90-B3-D5-1F-30-01-00-02", s.srp, role.SoLRContingency)
	s.sroSup = e.officer(e.admin, "sro-a", ra.KindSRO, s.supplier)
	s.aroSup = e.officer(s.sroSup, "aro-a", ra.KindARO, s.supplier)
	s.sroSR = e.officer(e.admin, "sro-srp", ra.KindSRO, s.srp)
	return s
}
