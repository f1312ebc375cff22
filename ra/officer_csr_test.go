package ra

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
)

func officerCSR(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestAppointOfficerWithCSR: with a CSR the access CA certifies the
// appointee's key, returns no key, and the certificate authenticates as the
// officer; bad CSRs are malformed requests that write nothing.
func TestAppointOfficerWithCSR(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, cred, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "ann", Name: "Ann Lee", Kind: KindRAApprover, CSR: officerCSR(t, key)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cred.KeyPEM) != 0 {
		t.Error("a CSR appointment returned a private key")
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if _, err := tls.X509KeyPair(cred.CertPEM, keyPEM); err != nil {
		t.Errorf("certificate is not for the appointee's key: %v", err)
	}
	if a := e.actor(cred); a.id != "ann" || o.Kind != KindRAApprover {
		t.Errorf("authenticated as %q, officer %+v", a.id, o)
	}
	if tail := ratest.AuditTail(e.t, e.st, 1)[0]; tail.Result != "allowed" || !strings.Contains(tail.Detail, "key=appointee") {
		t.Errorf("audit %+v, want allowed with key=appointee", tail)
	}
	_, plain, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "bob", Name: "Bob", Kind: KindRAOperator})
	if err != nil || len(plain.KeyPEM) == 0 || !strings.Contains(ratest.AuditTail(e.t, e.st, 1)[0].Detail, "key=ra-generated") {
		t.Errorf("appointment without CSR: %v, key %d bytes, audit %+v", err, len(plain.KeyPEM), ratest.AuditTail(e.t, e.st, 1)[0])
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	broken := []byte(officerCSR(t, key))
	broken[len(broken)/2] ^= 0x01
	before := len(ratest.AuditTail(e.t, e.st, 1<<20))
	for name, csr := range map[string]string{
		"rsa":     officerCSR(t, rsaKey),
		"p384":    officerCSR(t, p384),
		"garbage": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
		"broken":  string(broken),
		"cert":    string(cred.CertPEM),
	} {
		_, _, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "x-" + name, Name: "X", Kind: KindRAApprover, CSR: csr})
		if !errors.Is(err, ErrCSRInvalid) {
			t.Errorf("%s: err = %v, want %v", name, err, ErrCSRInvalid)
		}
	}
	if after := len(ratest.AuditTail(e.t, e.st, 1<<20)); after != before {
		t.Errorf("malformed CSRs wrote %d audit entries", after-before)
	}
}

// TestOfficerCSRRequired: an RA that certifies only appointee keys refuses
// (and audits) an appointment without a CSR, and accepts one with it.
func TestOfficerCSRRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	WithOfficerCSRRequired()(e.svc)
	ctx := context.Background()
	_, _, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "bob", Name: "Bob", Kind: KindRAApprover})
	if !errors.Is(err, ErrCSRRequired) || CodeOf(err) != "E_RA_CSR_REQUIRED" {
		t.Fatalf("err = %v, want E_RA_CSR_REQUIRED", err)
	}
	if tail := ratest.AuditTail(e.t, e.st, 1)[0]; tail.Result != "refused: E_RA_CSR_REQUIRED" || tail.Subject != "officer:bob" {
		t.Errorf("audit %+v", tail)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, _, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "bob", Name: "Bob", Kind: KindRAApprover, CSR: officerCSR(t, key)}); err != nil {
		t.Fatal(err)
	}
}

// TestWriteCredentialKeyless: a key-less credential lands beside the
// appointee's key only if it certifies that key, and never overwrites.
func TestWriteCredentialKeyless(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, wrong, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "w", Name: "W", Kind: KindRAApprover, CSR: officerCSR(t, other)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ownpki.WriteCredential(dir, wrong); !errors.Is(err, ownpki.ErrAccessCA) {
		t.Errorf("certificate for another key: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cert.pem")); err == nil {
		t.Error("cert.pem written for another key")
	}
	_, right, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "r", Name: "R", Kind: KindRAApprover, CSR: officerCSR(t, key)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ownpki.WriteCredential(dir, right); err != nil {
		t.Fatal(err)
	}
	if a := e.actorFromDir(dir); a.id != "r" {
		t.Errorf("credential directory authenticates as %q", a.id)
	}
	if err := ownpki.WriteCredential(dir, right); err == nil {
		t.Error("second write over cert.pem succeeded")
	}
}

// TestOfficerCredentialExpiryRecorded: the RA records when each officer's
// credential expires — at appointment, at renewal and for the bootstrap
// officers — exactly as the certificate says, and lists it.
func TestOfficerCredentialExpiryRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	notAfter := func(c ownpki.Credential) time.Time {
		t.Helper()
		cert, err := parseCertPEM(c.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		return cert.NotAfter
	}
	o, cred, err := e.svc.AppointOfficer(ctx, e.admin, OfficerRequest{ID: "lee", Name: "Lee", Kind: KindAuthorityLiaison})
	if err != nil {
		t.Fatal(err)
	}
	if o.CredentialExpires == nil || !o.CredentialExpires.Equal(notAfter(cred)) || !cred.NotAfter.Equal(notAfter(cred)) {
		t.Fatalf("appointment: expires %v, credential %v, certificate %v", o.CredentialExpires, cred.NotAfter, notAfter(cred))
	}
	e.clock.Set(e.clock.Now().Add(24 * time.Hour))
	renewed, rcred, err := e.svc.RenewOfficerCredential(ctx, e.actor(cred), "lee", "")
	if err != nil {
		t.Fatal(err)
	}
	if renewed.CredentialExpires == nil || !renewed.CredentialExpires.Equal(notAfter(rcred)) || !notAfter(rcred).After(notAfter(cred)) {
		t.Fatalf("renewal: expires %v, certificate %v (was %v)", renewed.CredentialExpires, notAfter(rcred), notAfter(cred))
	}
	list, err := e.svc.ListOfficers(ctx, e.admin, eui64.ID{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.CredentialExpires == nil {
			t.Errorf("officer %s lists no credential expiry", l.ID)
		}
		if l.ID == "lee" && !l.CredentialExpires.Equal(notAfter(rcred)) {
			t.Errorf("lee lists %v, want %v", l.CredentialExpires, notAfter(rcred))
		}
	}
}
