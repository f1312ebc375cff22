package console

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// env is a real RA (CA, bbolt store) behind the console: RA operator
// "admin", approver "approver", party A with SRO sro-a and ARO aro-a and
// an SC user, party B with an SC user.
type env struct {
	t      *testing.T
	st     store.Store
	svc    *ra.Service
	clk    *ratest.Clock
	c      *Console
	certs  map[string]*x509.Certificate
	admin  ra.Actor
	partyA eui64.ID
	partyB eui64.ID
	userA  eui64.ID
	userB  eui64.ID
}

func (e *env) cert(name string) *x509.Certificate { return e.certs[name] }

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, nil)
}

// newEnvOn is newEnv on the store open returns (nil: bbolt).
func newEnvOn(t *testing.T, open func(dir string) (store.Store, error)) *env {
	t.Helper()
	pki := ratest.NewPKI(t, open, ratest.Start)
	st, authority, clk := pki.Store, pki.CA, pki.Clock
	ctx := context.Background()
	svc, err := ra.New(st, authority, pki.Access, ra.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Bootstrap(ctx, pki.Dir); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, svc: svc, clk: clk, certs: map[string]*x509.Certificate{}}
	for _, n := range []string{"admin", "approver"} {
		e.certs[n] = ratest.ParseCert(t, ratest.ReadFile(t, filepath.Join(pki.Dir, "officers", n, "cert.pem")))
	}
	e.admin = e.actor("admin")
	e.partyA, e.partyB = eui64.MustParse("90-B3-D5-1F-30-00-00-0A"), eui64.MustParse("90-B3-D5-1F-30-00-00-0B")
	e.userA, e.userB = eui64.MustParse("90-B3-D5-1F-30-01-00-0A"), eui64.MustParse("90-B3-D5-1F-30-01-00-0B")
	for _, p := range []struct {
		id, user eui64.ID
		name     string
	}{{e.partyA, e.userA, "Party A"}, {e.partyB, e.userB, "Party B"}} {
		if _, err := svc.CreateParty(ctx, e.admin, p.id, p.name); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, e.admin, p.user, p.id, role.SoLRContingency, "SC of "+p.name); err != nil {
			t.Fatal(err)
		}
	}
	e.appoint("admin", "sro-a", ra.KindSRO, e.partyA)
	e.appoint("sro-a", "aro-a", ra.KindARO, e.partyA)
	e.c = New(Config{Service: svc, Now: clk.Now, CRLs: authority.CRLStatus})
	return e
}

func (e *env) actor(name string) ra.Actor {
	e.t.Helper()
	a, err := e.svc.Authenticate(context.Background(), e.certs[name])
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) appoint(by, id, kind string, party eui64.ID) {
	e.t.Helper()
	_, cred, err := e.svc.AppointOfficer(context.Background(), e.actor(by), ra.OfficerRequest{ID: id, Name: "Officer " + id, Kind: kind, PartyID: party})
	if err != nil {
		e.t.Fatal(err)
	}
	e.certs[id] = ratest.ParseCert(e.t, cred.CertPEM)
}

const host = "ra.example"

// do sends one request to the console as a browser would: over TLS
// (with the officer's verified certificate when cert is set), with the
// session cookie when given, same-origin for a POST unless headers say
// otherwise.
func (e *env) do(method, target string, form url.Values, cookie string, cert *x509.Certificate, hdr map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "https://"+host+target, body)
	r.TLS = &tls.ConnectionState{}
	if cert != nil {
		r.TLS.VerifiedChains = [][]*x509.Certificate{{cert}}
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", "https://"+host)
	}
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	return w
}

// signIn signs officer in through a login link and returns the session
// cookie and the CSRF token of its forms.
func (e *env) signIn(officer string) (cookie, csrf string) {
	e.t.Helper()
	w := e.do("POST", "/console/login-link", nil, "", e.cert(officer), map[string]string{"Origin": "", "Sec-Fetch-Site": ""})
	if w.Code != http.StatusOK {
		e.t.Fatalf("login link: %d %s", w.Code, w.Body)
	}
	tok := linkToken(e.t, w.Body.String())
	w = e.do("POST", "/console/login/"+tok, url.Values{}, "", nil, nil)
	if w.Code != http.StatusSeeOther {
		e.t.Fatalf("using the link: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			cookie = c.Value
		}
	}
	if cookie == "" {
		e.t.Fatal("no session cookie")
	}
	home := e.do("GET", "/console/", nil, cookie, nil, nil)
	return cookie, csrfOf(e.t, home.Body.String())
}

func linkToken(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, "/console/login/")
	if i < 0 {
		t.Fatalf("no link in %s", body)
	}
	rest := body[i+len("/console/login/"):]
	return rest[:strings.IndexByte(rest, '"')]
}

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no CSRF token in the page")
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// failingStore is a bbolt store whose chosen reads (the officer's, the
// certificate lists) fail with err while it is set: a store down or busy
// for a while.
type failingStore struct {
	store.Store
	officers, certificates bool
	err                    atomic.Pointer[error]
}

func (s *failingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.err.Load(); err != nil {
		return s.Store.View(ctx, func(tx store.Tx) error { return fn(failingTx{Tx: tx, s: s, err: *err}) })
	}
	return s.Store.View(ctx, fn)
}

type failingTx struct {
	store.Tx
	s   *failingStore
	err error
}

func (t failingTx) GetOfficer(id string) (store.Officer, error) {
	if t.s.officers {
		return store.Officer{}, t.err
	}
	return t.Tx.GetOfficer(id)
}

func (t failingTx) ListCertificates(f store.CertFilter) ([]store.Certificate, error) {
	if t.s.certificates {
		return nil, t.err
	}
	return t.Tx.ListCertificates(f)
}

// newEnvFailing is newEnv on fs, over a bbolt store.
func newEnvFailing(t *testing.T, fs *failingStore) *env {
	t.Helper()
	return newEnvOn(t, func(dir string) (store.Store, error) {
		st, err := bolt.Open(filepath.Join(dir, "smki.db"))
		fs.Store = st
		return fs, err
	})
}

// enrol gives the SC user of party A one more certificate.
func (e *env) enrol() ra.Issued {
	e.t.Helper()
	csr, err := ra.NewCSR(ratest.NewKey(e.t), e.userA, "SC", ca.XMLSigning, "")
	if err != nil {
		e.t.Fatal(err)
	}
	is, err := e.svc.Enrol(context.Background(), e.actor("aro-a"), ra.EnrolRequest{UserID: e.userA, Profile: ca.XMLSigning, CSR: csr, Mode: ra.ModeEnrol})
	if err != nil {
		e.t.Fatal(err)
	}
	return is
}

// lastAudit is the newest audit entry that q selects.
func (e *env) lastAudit(q ra.AuditQuery) store.AuditEntry {
	e.t.Helper()
	es, err := e.svc.AuditLog(context.Background(), e.admin, q)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(es) == 0 {
		e.t.Fatalf("no audit entry for %+v", q)
	}
	return es[0]
}
