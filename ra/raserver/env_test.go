package raserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/eligibility"
	"github.com/smki/smki/ra/ownpki"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// fakeClock is a settable test clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }

var testStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// env is a real RA over a real CA on a bbolt store in a temp dir.
type env struct {
	t     testing.TB
	dir   string
	st    store.Store
	ca    *ca.CA
	svc   *ra.Service
	clock *fakeClock
	admin ra.Actor // bootstrap ra-operator
	cred  map[string]ownpki.Credential
	keys  *memKeys // the access CA's and system signer's key store
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
	return newEnvAt(t, signed, open, testStart)
}

// newEnvAt is newEnvOn whose clock starts at start: a client that checks
// the server's certificate at the wall clock (the CLI's) needs the wall
// clock's time, as the server's access certificate lasts 90 days.
func newEnvAt(t testing.TB, signed bool, open func(dir string) (store.Store, error), start time.Time) *env {
	t.Helper()
	dir := t.TempDir()
	if open == nil {
		open = func(dir string) (store.Store, error) { return bolt.Open(filepath.Join(dir, "smki.db")) }
	}
	st, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &fakeClock{t: start}
	ctx := context.Background()
	cfg := ca.Config{Dir: dir, Passphrase: []byte("test passphrase"), Clock: clk.Now}
	if err := ca.Init(ctx, st, cfg, ca.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := ca.Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	keys := newMemKeys()
	acc, err := ownpki.OpenAccessCA(filepath.Join(dir, "access"), keys, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := []ra.Option{ra.WithClock(clk.Now)}
	var sig *ownpki.SystemSigner
	if signed {
		sig, err = ownpki.OpenSystemSigner(ctx, filepath.Join(dir, "ra"), keys, c, ownpki.DefaultSystemID, clk.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, ra.WithSystemSigner(sig))
	}
	svc, err := ra.New(st, c, acc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st, ca: c, svc: svc, clock: clk, cred: map[string]ownpki.Credential{}, keys: keys, signer: sig}
	e.admin = e.actorFromDir(filepath.Join(dir, "officers", "admin"))
	return e
}

// memKeys is an in-memory Keys for the many tests that need an access CA
// or system signer but are not about key storage: the real backend's PBKDF2
// (600,000 rounds per softkms key) would dominate the package's run time.
// ra/ownpki/ownkeys_test.go exercises the real ca.KeyStore (softkms and PKCS#11).
type memKeys struct {
	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]*ecdsa.PrivateKey{}} }

func (m *memKeys) Kind() string { return "memory" }

func (m *memKeys) CreateSigner(name string) (crypto.Signer, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	return m.put(name, k)
}

func (m *memKeys) put(name string, k *ecdsa.PrivateKey) (crypto.Signer, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := fmt.Sprintf("mem:%s-%d", name, len(m.keys))
	m.keys[ref] = k
	return k, ref, nil
}

func (m *memKeys) LoadSigner(ref string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[ref]
	if !ok {
		return nil, fmt.Errorf("%w: no key %s", ca.ErrConfig, ref)
	}
	return k, nil
}

func (m *memKeys) ImportSigner(name string, key crypto.PrivateKey) (crypto.Signer, string, error) {
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("%w: %T", ca.ErrConfig, key)
	}
	return m.put(name, k)
}

func (e *env) actorFromDir(dir string) ra.Actor {
	e.t.Helper()
	cert, err := parseCertPEM(mustRead(e.t, filepath.Join(dir, "cert.pem")))
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.svc.Authenticate(context.Background(), cert)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// actor authenticates a credential the way the server does.
func (e *env) actor(c ownpki.Credential) ra.Actor {
	e.t.Helper()
	cert, err := parseCertPEM(c.CertPEM)
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.svc.Authenticate(context.Background(), cert)
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

func newScenario(t testing.TB) *scenario { return scenarioOf(newEnv(t)) }

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

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func csrFor(t testing.TB, k *ecdsa.PrivateKey, id eui64.ID, r role.UserRole, p ca.Profile) []byte {
	t.Helper()
	c, err := ra.NewCSR(k, id, r, p, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseIssued(t testing.TB, is ra.Issued) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(is.CertPEM)
	if b == nil {
		t.Fatal("issued PEM does not decode")
	}
	// Go's crypto/x509 cannot parse the BIT STRING x500UniqueIdentifier.
	c, err := dccx509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// auditTail returns the last n audit entries.
func (e *env) auditTail(n int) []store.AuditEntry {
	e.t.Helper()
	var all []store.AuditEntry
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		all, err = tx.AuditEntries(1, 0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	if len(all) < n {
		return all
	}
	return all[len(all)-n:]
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawCSR builds a CSR with OU=ou and the User ID, without NewCSR's
// eligibility check, to show the RA refuses what a client might send.
func rawCSR(t testing.TB, k *ecdsa.PrivateKey, id eui64.ID, ou string) []byte {
	t.Helper()
	return rawCSRAttrs(t, k, []attr{{oidOU, asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(ou)}},
		{oidUID, asn1.RawValue{Tag: asn1.TagBitString, Bytes: append([]byte{0}, id[:]...)}}})
}

type attr struct {
	oid asn1.ObjectIdentifier
	val asn1.RawValue
}

func rawCSRAttrs(t testing.TB, k *ecdsa.PrivateKey, attrs []attr) []byte {
	t.Helper()
	var rdns [][]asn1.RawValue
	for _, a := range attrs {
		atv, err := asn1.Marshal(struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		}{a.oid, a.val})
		if err != nil {
			t.Fatal(err)
		}
		rdns = append(rdns, []asn1.RawValue{{FullBytes: atv}})
	}
	raw, err := eligibility.MarshalRDNs(rdns)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// Test copies of ra's unexported helpers the harness needs.

var (
	oidOU  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidUID = asn1.ObjectIdentifier{2, 5, 4, 45}
)

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func checkShape(t *testing.T, c *x509.Certificate, r role.UserRole, p ca.Profile) {
	t.Helper()
	if len(c.Subject.OrganizationalUnit) != 1 || c.Subject.OrganizationalUnit[0] != ra.ExpectedOU(r, p) {
		t.Errorf("%s %s: OU %v, want %s", r, p, c.Subject.OrganizationalUnit, ra.ExpectedOU(r, p))
	}
	wantKU := x509.KeyUsageDigitalSignature
	if p == ca.KeyAgreement {
		wantKU = x509.KeyUsageKeyAgreement
	}
	if c.KeyUsage != wantKU {
		t.Errorf("%s %s: keyUsage %v, want %v", r, p, c.KeyUsage, wantKU)
	}
	roles, err := role.FromCertificate(c)
	if err != nil || !slices.Equal(roles, []role.UserRole{r}) {
		t.Errorf("%s %s: role binding %v %v", r, p, roles, err)
	}
	if r == role.SoLRContingency && (p != ca.XMLSigning || c.KeyUsage&x509.KeyUsageKeyAgreement != 0) {
		t.Errorf("SC certificate with profile %s", p)
	}
}
