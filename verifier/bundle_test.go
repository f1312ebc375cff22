package verifier

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

func TestBundleSignOpen(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	chain := []*x509.Certificate{s.bundleSigner.cert, s.pki.ca}
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	signed, err := SignBundle(s.bundle, s.bundleSigner.key, chain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenBundle(signed, roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != 3 || got.SoLREvents[0].SRPUser != userSC || got.MaxAge != Duration(24*time.Hour) ||
		!bytes.Equal(got.Certificates[0], s.sc.cert.Raw) {
		t.Fatalf("round trip lost data: %+v", got)
	}

	xmlSigner := identity{}
	xmlSigner.cert, xmlSigner.key = s.pki.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency}})
	other := newTestPKI(t, testNow)
	foreign := identity{}
	foreign.cert, foreign.key = other.leaf(t, leafSpec{id: userSC, ou: "89", roles: []role.UserRole{role.OtherUser}})

	var env map[string]any
	if err := json.Unmarshal(signed, &env); err != nil {
		t.Fatal(err)
	}
	reencode := func(mut func(m map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range env {
			m[k] = v
		}
		mut(m)
		b, _ := json.Marshal(m)
		return b
	}

	tests := []struct {
		name string
		data func(t *testing.T) []byte
		now  time.Time
		want error
	}{
		{"unknown envelope field", func(t *testing.T) []byte {
			return reencode(func(m map[string]any) { m["extra"] = 1 })
		}, testNow, ErrEnvelopeFormat},
		{"wrong format", func(t *testing.T) []byte {
			return reencode(func(m map[string]any) { m["format"] = FeedFormat })
		}, testNow, ErrEnvelopeFormat},
		{"payload swapped", func(t *testing.T) []byte {
			b := cloneBundle(t, s.bundle)
			b.AllowLists[role.SoLRContingency] = []string{"1.6", "1.1.1"}
			other, err := SignBundle(b, s.bundleSigner.key, chain)
			if err != nil {
				t.Fatal(err)
			}
			var o map[string]any
			_ = json.Unmarshal(other, &o)
			return reencode(func(m map[string]any) { m["payload"] = o["payload"] })
		}, testNow, ErrEnvelopeSignature},
		{"signer not OU=89", func(t *testing.T) []byte {
			b, err := SignBundle(s.bundle, xmlSigner.key, []*x509.Certificate{xmlSigner.cert, s.pki.ca})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, testNow, ErrEnvelopeSigner},
		{"signer from an untrusted PKI", func(t *testing.T) []byte {
			b, err := SignBundle(s.bundle, foreign.key, []*x509.Certificate{foreign.cert, other.ca})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, testNow, ErrEnvelopeSigner},
		{"signer expired at now", func(t *testing.T) []byte { return signed }, testNow.AddDate(2, 0, 0), ErrEnvelopeSigner},
		{"too large", func(t *testing.T) []byte { return make([]byte, MaxBundleSize+1) }, testNow, ErrEnvelopeTooLarge},
		{"trailing data", func(t *testing.T) []byte { return append(append([]byte(nil), signed...), []byte(" {}")...) }, testNow, ErrEnvelopeFormat},
		{"not JSON", func(t *testing.T) []byte { return []byte("<xml/>") }, testNow, ErrEnvelopeFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenBundle(tt.data(t), roots, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBundleValidate(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	tests := []struct {
		name string
		mut  func(b *Bundle)
	}{
		{"version", func(b *Bundle) { b.Version = 2 }},
		{"no issued_at", func(b *Bundle) { b.IssuedAt = time.Time{} }},
		{"no max_age", func(b *Bundle) { b.MaxAge = 0 }},
		{"duplicate user", func(b *Bundle) { b.Users = append(b.Users, b.Users[0]) }},
		{"unknown role", func(b *Bundle) { b.Users[0].Role = "XX" }},
		{"unknown allow-list role", func(b *Bundle) { b.AllowLists["ZZ"] = []string{"1.6"} }},
		{"unknown event state", func(b *Bundle) { b.SoLREvents[0].State = "pending" }},
		{"end before start", func(b *Bundle) { e := b.SoLREvents[0].Start.Add(-time.Hour); b.SoLREvents[0].End = &e }},
		{"ADT zero period", func(b *Bundle) { b.ADT[0].SRVs["1.6"] = ADTThreshold{Quarantine: 1} }},
		{"duplicate device", func(b *Bundle) { b.Devices = append(b.Devices, b.Devices[0]) }},
		{"smets 3", func(b *Bundle) { b.Devices[0].SMETS = 3 }},
		{"bad certificate", func(b *Bundle) { b.Certificates = append(b.Certificates, []byte{1, 2, 3}) }},
		{"bad revoked serial", func(b *Bundle) { b.Revoked = []RevokedCert{{Issuer: "CN=Z1", Serial: "xyz"}} }},
		{"zero user id", func(b *Bundle) { b.Users[0].UserID = eui64.ID{} }},
	}
	if err := s.bundle.Validate(); err != nil {
		t.Fatalf("base bundle invalid: %v", err)
	}
	for _, tt := range tests {
		b := cloneBundle(t, s.bundle)
		tt.mut(b)
		if err := b.Validate(); !errors.Is(err, ErrBundleInvalid) {
			t.Errorf("%s: err = %v, want ErrBundleInvalid", tt.name, err)
		}
		if _, err := SignBundle(b, s.bundleSigner.key, []*x509.Certificate{s.bundleSigner.cert}); !errors.Is(err, ErrBundleInvalid) {
			t.Errorf("%s: SignBundle err = %v, want ErrBundleInvalid", tt.name, err)
		}
	}
}

func TestFeedPageSignOpen(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	chain := []*x509.Certificate{s.bundleSigner.cert, s.pki.ca}
	p := &FeedPage{Seq: 9, IssuedAt: testNow, Revoked: []RevokedCert{{Issuer: "CN=Z1,OU=07", Serial: "0a", RevokedAt: testNow}}}
	data, err := SignFeedPage(p, s.bundleSigner.key, chain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenFeedPage(data, roots, testNow)
	if err != nil || got.Seq != 9 || len(got.Revoked) != 1 {
		t.Fatalf("OpenFeedPage = %+v, %v", got, err)
	}
	// A feed page is not a bundle and a bundle is not a feed page.
	if _, err := OpenBundle(data, roots, testNow); !errors.Is(err, ErrEnvelopeFormat) {
		t.Fatalf("feed opened as bundle: %v", err)
	}
	bundle, _ := SignBundle(s.bundle, s.bundleSigner.key, chain)
	if _, err := OpenFeedPage(bundle, roots, testNow); !errors.Is(err, ErrEnvelopeFormat) {
		t.Fatalf("bundle opened as feed: %v", err)
	}
}

func TestDNKey(t *testing.T) {
	t.Parallel()
	same := []string{"CN=Z1,OU=07", "CN=Z1, OU=07", "OU=07,CN=Z1", "cn=z1 , ou=07", "2.5.4.3=Z1,2.5.4.11=07", "CN=Z1;OU=07"}
	want, err := dnKeyFromString(same[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range same[1:] {
		got, err := dnKeyFromString(s)
		if err != nil || got != want {
			t.Errorf("dnKey(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"CN=Z2,OU=07", "CN=Z1", "CN=Z1,OU=07,O=x"} {
		if got, _ := dnKeyFromString(s); got == want {
			t.Errorf("dnKey(%q) collides with %q", s, same[0])
		}
	}
	for _, s := range []string{"", "CN", "CN=Z1,OU"} {
		if _, err := dnKeyFromString(s); err == nil {
			t.Errorf("dnKey(%q) accepted", s)
		}
	}
}
