package role

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestRoleOIDs(t *testing.T) {
	t.Parallel()
	for i, r := range All() {
		o, err := r.OID()
		if err != nil {
			t.Fatal(err)
		}
		want := ArcText + ".1." + string(rune('1'+i))
		if o.String() != want {
			t.Errorf("%s OID = %s, want %s", r, o, want)
		}
		back, err := FromOID(o)
		if err != nil || back != r {
			t.Errorf("FromOID(%s) = %s, %v", o, back, err)
		}
	}
	if _, err := Parse("XX"); !errors.Is(err, ErrUnknownRole) {
		t.Fatal("Parse accepted XX")
	}
	if r, err := Parse("sc"); err != nil || r != SoLRContingency {
		t.Fatal("Parse(sc)")
	}
}

// TestBindingInCertificate shows the binding survives Go's own certificate
// parser, which refuses a big-component OID as an extension ID.
func TestBindingInCertificate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		roles []UserRole
		crit  bool
		want  error
	}{
		{"SC only", []UserRole{SoLRContingency}, false, nil},
		{"two roles", []UserRole{ImportSupplier, GasSupplier}, false, nil},
		{"critical", []UserRole{SoLRContingency}, true, ErrBadBinding},
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tt := range tests {
		ext, err := Extension(tt.roles...)
		if err != nil {
			t.Fatal(err)
		}
		ext.Critical = tt.crit
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), ExtraExtensions: []pkix.Extension{ext}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: Go cannot parse: %v", tt.name, err)
		}
		got, err := FromCertificate(c)
		if tt.want != nil {
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			}
			continue
		}
		if err != nil || len(got) != len(tt.roles) {
			t.Errorf("%s: got %v, %v", tt.name, got, err)
		}
	}
}

func TestParseExtensionValueRejects(t *testing.T) {
	t.Parallel()
	good, _ := Extension(SoLRContingency)
	bad := [][]byte{
		nil,
		{0x30, 0x00},
		append(append([]byte{}, good.Value...), 0x00),
		good.Value[:len(good.Value)-1],
	}
	for i, b := range bad {
		if _, err := ParseExtensionValue(b); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	if _, err := Extension(); err == nil {
		t.Error("Extension() with no roles accepted")
	}
	if _, err := Extension(SoLRContingency, SoLRContingency); err == nil {
		t.Error("duplicate role accepted")
	}
}

func TestRemotePartyRole(t *testing.T) {
	t.Parallel()
	if RPXMLSign.OU() != "87" || RPSupplier.OU() != "02" {
		t.Fatal("OU form")
	}
	for _, ou := range []string{"7", "0x", "123", "GG"} {
		if _, err := ParseRemotePartyRole(ou); err == nil {
			t.Errorf("accepted %q", ou)
		}
	}
	if p, _ := ParseRemotePartyRole("87"); p != RPXMLSign {
		t.Fatal("87")
	}
}

func TestRemotePartyRoleNames(t *testing.T) {
	for _, c := range []struct {
		ou, name string
	}{{"87", "xmlSign"}, {"02", "supplier"}, {"07", "issuingAuthority"}, {"89", "dspXmlSign"}, {"42", ""}} {
		p, err := ParseRemotePartyRole(c.ou)
		if err != nil || p.Name() != c.name {
			t.Errorf("OU %s: %q %v, want %q", c.ou, p.Name(), err, c.name)
		}
	}
}
