package testpki

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
)

func TestBuildScenario(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	out := filepath.Join(t.TempDir(), "pki")
	p, err := Build(context.Background(), Options{Out: out, At: at})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.Root)
	inter := x509.NewCertPool()
	inter.AddCert(p.Issuing)

	for _, u := range Users() {
		cr := p.Users[u.Name]
		if cr == nil {
			t.Fatalf("no credential for %s", u.Name)
		}
		when := at
		if u.Name == ExpiredUser {
			if !cr.Cert.NotAfter.Before(at) {
				t.Errorf("%s: notAfter %s is not before At %s", u.Name, cr.Cert.NotAfter, at)
			}
			when = cr.Cert.NotBefore
		}
		if _, err := cr.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: when,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s does not chain: %v", u.Name, err)
		}
		roles, err := role.FromCertificate(cr.Cert)
		if err != nil || len(roles) != 1 || roles[0] != u.Role {
			t.Errorf("%s role binding = %v, %v", u.Name, roles, err)
		}
		// What is on disk is what is in memory.
		der, err := os.ReadFile(filepath.Join(out, "users", u.Name, "cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if len(der) == 0 {
			t.Errorf("%s: empty cert.pem", u.Name)
		}
	}
	if p.Users["srp-sc-xml"].Cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("SC key usage = %v", p.Users["srp-sc-xml"].Cert.KeyUsage)
	}

	// The bundle on disk opens against the root and says what the scenario says.
	data, err := os.ReadFile(filepath.Join(out, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(data, roots, at)
	if err != nil {
		t.Fatalf("OpenBundle: %v", err)
	}
	if len(b.SoLREvents) != 1 || !b.SoLREvents[0].ActiveAt(at) || b.SoLREvents[0].SRPUser != p.Users["srp-sc-xml"].User.ID {
		t.Errorf("SoLR event = %+v", b.SoLREvents)
	}
	if len(b.Revoked) != 2 || len(b.Devices) != DeviceCount || len(b.Certificates) != len(Users()) {
		t.Errorf("bundle: %d revoked, %d devices, %d certificates", len(b.Revoked), len(b.Devices), len(b.Certificates))
	}
	for _, der := range b.Certificates {
		if _, err := dccx509.ParseCertificate(der); err != nil {
			t.Errorf("bundle certificate does not parse: %v", err)
		}
	}
	other := x509.NewCertPool()
	other.AddCert(p.Users["srp-sc-xml"].Cert)
	if _, err := bundle.Open(data, other, at); err == nil {
		t.Error("bundle opened against a pool without the root")
	}

	// Devices: at least 50, both suppliers, both SMETS generations.
	kinds := map[[2]int]int{}
	a, _ := UserByName("supplier-a-xml")
	for _, d := range p.Devices {
		k := 0
		if d.Supplier == a.ID {
			k = 1
		}
		kinds[[2]int{k, d.SMETS}]++
	}
	if len(p.Devices) < 50 || len(kinds) != 4 {
		t.Errorf("devices: %d, split %v", len(p.Devices), kinds)
	}

	// A second build into the same directory is refused and writes nothing.
	if _, err := Build(context.Background(), Options{Out: out, At: at}); !errors.Is(err, ErrOutNotEmpty) {
		t.Errorf("second Build = %v, want ErrOutNotEmpty", err)
	}
}
