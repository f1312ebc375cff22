package ra

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/publish"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/solr"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// env is a real RA over a real CA on a bbolt store in a temp dir.
type env struct {
	t     testing.TB
	dir   string
	st    store.Store
	ca    *ca.CA
	svc   *Service
	clock *ratest.Clock
	admin Actor // bootstrap ra-operator
	cred  map[string]ownpki.Credential
	keys  *ratest.MemKeys // the access CA's and system signer's key store
}

// newEnv builds the RA on a fresh bbolt store, or on on[0] if given (a
// PostgreSQL schema, for the tests that race two transactions).
func newEnv(t testing.TB, on ...store.Store) *env {
	t.Helper()
	var open func(string) (store.Store, error)
	if len(on) > 0 {
		open = func(string) (store.Store, error) { return on[0], nil }
	}
	p := ratest.NewPKI(t, open, ratest.Start)
	svc, err := New(p.Store, p.CA, p.Access, WithClock(p.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Bootstrap(context.Background(), p.Dir); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: p.Dir, st: p.Store, ca: p.CA, svc: svc, clock: p.Clock, cred: map[string]ownpki.Credential{}, keys: p.Keys}
	e.admin = e.actorFromDir(filepath.Join(p.Dir, "officers", "admin"))
	return e
}

// actorFromDir authenticates the credential in dir (its cert.pem).
func (e *env) actorFromDir(dir string) Actor {
	e.t.Helper()
	return e.actor(ownpki.Credential{CertPEM: ratest.ReadFile(e.t, filepath.Join(dir, "cert.pem"))})
}

// actor authenticates a credential the way the server does.
func (e *env) actor(c ownpki.Credential) Actor {
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

func (e *env) officer(by Actor, id, kind string, party eui64.ID) Actor {
	e.t.Helper()
	_, c, err := e.svc.AppointOfficer(context.Background(), by, OfficerRequest{ID: id, Name: "Officer " + id, Kind: kind, PartyID: party})
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
	sroSup, aroSup, sroSR Actor
}

func newScenario(t testing.TB, on ...store.Store) *scenario {
	e := newEnv(t, on...)
	s := &scenario{env: e}
	s.supplier = e.party("90-B3-D5-1F-30-00-00-01", "Supplier A")
	s.srp = e.party("90-B3-D5-1F-30-00-00-12", "Shared Resource Provider")
	s.userIS = e.user("90-B3-D5-1F-30-01-00-01", s.supplier, role.ImportSupplier)
	s.userSC = e.user("90-B3-D5-1F-30-01-00-02", s.srp, role.SoLRContingency)
	s.sroSup = e.officer(e.admin, "sro-a", KindSRO, s.supplier)
	s.aroSup = e.officer(s.sroSup, "aro-a", KindARO, s.supplier)
	s.sroSR = e.officer(e.admin, "sro-srp", KindSRO, s.srp)
	return s
}

// useSigner gives the built Service a system signer (nil: none), as
// WithSystemSigner would have, for tests that make the signer after New.
func (s *Service) useSigner(sig *ownpki.SystemSigner) {
	s.signer = sig
	s.pub = publish.New(s.st, sig, s.now, s.log, s.bundleMaxAge, &s.feed)
}

// The SoLR workflow's constants, by the names the tests use.
const (
	reasonCessation = solr.ReasonCessation
	schedulerActor  = solr.SchedulerActor
)
