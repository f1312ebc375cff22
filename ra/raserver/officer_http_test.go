package raserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
)

// TestRenewOverHTTP: the route, the client, strict bodies, and the old
// credential refused by the server right after.
func TestRenewOverHTTP(t *testing.T) {
	t.Parallel()
	e, ts := newTestServer(t)
	ctx := context.Background()
	adminDir := filepath.Join(e.dir, "officers", "admin")
	admin := client(t, e, ts.URL, adminDir)
	k := ratest.NewKey(t)
	o, cred, err := admin.RenewOfficerCredential(ctx, "admin", officerCSR(t, k))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "admin" || o.CertSerial != cred.Serial || len(cred.CAPEM) == 0 || len(cred.KeyPEM) != 0 {
		t.Fatalf("renewed %+v %+v", o, cred)
	}
	if _, err := admin.Whoami(ctx); !errors.Is(err, ra.ErrOfficerInactive) {
		t.Fatalf("old credential after renewal: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEMOf(t, k), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ownpki.WriteCredential(dir, cred); err != nil {
		t.Fatal(err)
	}
	renewed := client(t, e, ts.URL, dir)
	if me, err := renewed.Whoami(ctx); err != nil || me.ID != "admin" {
		t.Fatalf("renewed credential: %+v %v", me, err)
	}
	if _, _, err := renewed.RenewOfficerCredential(ctx, "approver", ""); !errors.Is(err, ra.ErrCSRRequired) {
		t.Errorf("re-issue without CSR over HTTP: %v", err)
	}
	if st, code := post(t, renewed, ts.URL+"/v1/officers/admin/credential", "application/json", []byte(`{"key_pem":"x"}`)); st != http.StatusBadRequest || code != ra.ErrBadRequest.Error() {
		t.Errorf("unknown field: %d %s", st, code)
	}
}

func officerCSR(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func keyPEMOf(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
