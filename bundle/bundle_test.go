package bundle_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/testpki"
)

var testNow = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// pkis are two independent scenario PKIs built once through the real CA:
// [0] is trusted, [1] is foreign.
var pkis = sync.OnceValues(func() ([2]*testpki.PKI, error) {
	var out [2]*testpki.PKI
	for i := range out {
		dir, err := mkdtemp()
		if err != nil {
			return out, err
		}
		p, err := testpki.Build(context.Background(), testpki.Options{Out: filepath.Join(dir, "pki"), At: testNow.Add(-time.Hour)})
		if err != nil {
			return out, err
		}
		out[i] = p
	}
	return out, nil
})

type fixture struct {
	p, foreign *testpki.PKI
	roots      *x509.CertPool
	chain      []*x509.Certificate
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ps, err := pkis()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ps[0].Root)
	return fixture{p: ps[0], foreign: ps[1], roots: roots, chain: []*x509.Certificate{ps[0].BundleCert, ps[0].Issuing}}
}

// base is a valid bundle exercising every section.
func (f fixture) base(t *testing.T) *bundle.Bundle {
	t.Helper()
	b := f.p.Bundle()
	if len(b.Users) < 2 || len(b.SoLREvents) != 1 || len(b.ADT) != 1 || len(b.Devices) == 0 || len(b.Revoked) == 0 {
		t.Fatalf("scenario bundle lacks a section: %+v", b)
	}
	return clone(t, b)
}

func clone(t *testing.T, b *bundle.Bundle) *bundle.Bundle {
	t.Helper()
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var c bundle.Bundle
	if err := json.Unmarshal(j, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestBundleSignOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.base(t)
	signed, err := bundle.Sign(b, f.p.BundleKey, f.chain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bundle.Open(signed, f.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != len(b.Users) || got.SoLREvents[0].SRPUser != b.SoLREvents[0].SRPUser ||
		got.MaxAge != bundle.Duration(testpki.BundleMaxAge) || !bytes.Equal(got.Certificates[0], b.Certificates[0]) {
		t.Fatalf("round trip lost data: %+v", got)
	}

	xmlSigner := f.p.Users["srp-sc-xml"] // a user certificate, not OU=89
	foreign := f.foreign

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
		}, testNow, bundle.ErrEnvelopeFormat},
		{"wrong format", func(t *testing.T) []byte {
			return reencode(func(m map[string]any) { m["format"] = bundle.FeedFormat })
		}, testNow, bundle.ErrEnvelopeFormat},
		{"payload swapped", func(t *testing.T) []byte {
			c := clone(t, b)
			c.AllowLists[role.SoLRContingency] = []string{"1.6", "1.1.1"}
			other, err := bundle.Sign(c, f.p.BundleKey, f.chain)
			if err != nil {
				t.Fatal(err)
			}
			var o map[string]any
			_ = json.Unmarshal(other, &o)
			return reencode(func(m map[string]any) { m["payload"] = o["payload"] })
		}, testNow, bundle.ErrEnvelopeSignature},
		{"signer not OU=89", func(t *testing.T) []byte {
			d, err := bundle.Sign(b, xmlSigner.Key, []*x509.Certificate{xmlSigner.Cert, f.p.Issuing})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}, testNow, bundle.ErrEnvelopeSigner},
		{"signer from an untrusted PKI", func(t *testing.T) []byte {
			d, err := bundle.Sign(b, foreign.BundleKey, []*x509.Certificate{foreign.BundleCert, foreign.Issuing})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}, testNow, bundle.ErrEnvelopeSigner},
		{"signer expired at now", func(t *testing.T) []byte { return signed }, testNow.AddDate(30, 0, 0), bundle.ErrEnvelopeSigner},
		{"too large", func(t *testing.T) []byte { return make([]byte, bundle.MaxBundleSize+1) }, testNow, bundle.ErrEnvelopeTooLarge},
		{"trailing data", func(t *testing.T) []byte { return append(append([]byte(nil), signed...), []byte(" {}")...) }, testNow, bundle.ErrEnvelopeFormat},
		{"not JSON", func(t *testing.T) []byte { return []byte("<xml/>") }, testNow, bundle.ErrEnvelopeFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bundle.Open(tt.data(t), f.roots, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBundleValidate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		mut  func(b *bundle.Bundle)
	}{
		{"version", func(b *bundle.Bundle) { b.Version = 2 }},
		{"no issued_at", func(b *bundle.Bundle) { b.IssuedAt = time.Time{} }},
		{"no max_age", func(b *bundle.Bundle) { b.MaxAge = 0 }},
		{"duplicate user", func(b *bundle.Bundle) { b.Users = append(b.Users, b.Users[0]) }},
		{"unknown role", func(b *bundle.Bundle) { b.Users[0].Role = "XX" }},
		{"unknown allow-list role", func(b *bundle.Bundle) { b.AllowLists["ZZ"] = []string{"1.6"} }},
		{"bad allow-list SRV", func(b *bundle.Bundle) { b.AllowLists[role.SoLRContingency] = []string{"1.x"} }},
		{"unknown event state", func(b *bundle.Bundle) { b.SoLREvents[0].State = "pending" }},
		{"end before start", func(b *bundle.Bundle) { e := b.SoLREvents[0].Start.Add(-time.Hour); b.SoLREvents[0].End = &e }},
		{"ADT zero period", func(b *bundle.Bundle) { b.ADT[0].SRVs["1.6"] = bundle.ADTThreshold{Quarantine: 1} }},
		{"ADT period over the bound", func(b *bundle.Bundle) {
			b.ADT[0].SRVs["1.6"] = bundle.ADTThreshold{Period: bundle.Duration(bundle.MaxADTPeriod + time.Hour), Quarantine: 1}
		}},
		{"ADT quarantine over the bound", func(b *bundle.Bundle) {
			b.ADT[0].SRVs["1.6"] = bundle.ADTThreshold{Period: bundle.Duration(time.Hour), Quarantine: bundle.MaxADTQuarantine + 1}
		}},
		{"ADT warning above quarantine", func(b *bundle.Bundle) {
			b.ADT[0].SRVs["1.6"] = bundle.ADTThreshold{Period: bundle.Duration(time.Hour), Warning: 3, Quarantine: 2}
		}},
		{"duplicate device", func(b *bundle.Bundle) { b.Devices = append(b.Devices, b.Devices[0]) }},
		{"smets 3", func(b *bundle.Bundle) { b.Devices[0].SMETS = 3 }},
		{"bad certificate", func(b *bundle.Bundle) { b.Certificates = append(b.Certificates, []byte{1, 2, 3}) }},
		{"bad revoked serial", func(b *bundle.Bundle) { b.Revoked = []bundle.RevokedCert{{Issuer: "CN=Z1", Serial: "xyz"}} }},
		{"zero user id", func(b *bundle.Bundle) { b.Users[0].UserID = eui64.ID{} }},
	}
	if err := f.base(t).Validate(); err != nil {
		t.Fatalf("base bundle invalid: %v", err)
	}
	for _, tt := range tests {
		b := f.base(t)
		tt.mut(b)
		if err := b.Validate(); !errors.Is(err, bundle.ErrBundleInvalid) {
			t.Errorf("%s: err = %v, want ErrBundleInvalid", tt.name, err)
		}
		if _, err := bundle.Sign(b, f.p.BundleKey, f.chain); !errors.Is(err, bundle.ErrBundleInvalid) {
			t.Errorf("%s: Sign err = %v, want ErrBundleInvalid", tt.name, err)
		}
	}
}

func TestFeedPageSignOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := &bundle.FeedPage{Seq: 9, IssuedAt: testNow, Revoked: []bundle.RevokedCert{{Issuer: "CN=Z1,OU=07", Serial: "0a", RevokedAt: testNow}}}
	data, err := bundle.SignFeedPage(p, f.p.BundleKey, f.chain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bundle.OpenFeedPage(data, f.roots, testNow)
	if err != nil || got.Seq != 9 || len(got.Revoked) != 1 {
		t.Fatalf("OpenFeedPage = %+v, %v", got, err)
	}
	// A feed page is not a bundle and a bundle is not a feed page.
	if _, err := bundle.Open(data, f.roots, testNow); !errors.Is(err, bundle.ErrEnvelopeFormat) {
		t.Fatalf("feed opened as bundle: %v", err)
	}
	signed, _ := bundle.Sign(f.base(t), f.p.BundleKey, f.chain)
	if _, err := bundle.OpenFeedPage(signed, f.roots, testNow); !errors.Is(err, bundle.ErrEnvelopeFormat) {
		t.Fatalf("bundle opened as feed: %v", err)
	}
	// Feed invariants.
	for name, bad := range map[string]*bundle.FeedPage{
		"no issued_at": {Seq: 1},
		"bad serial":   {Seq: 1, IssuedAt: testNow, Revoked: []bundle.RevokedCert{{Issuer: "CN=Z1", Serial: "zz"}}},
		"no issuer":    {Seq: 1, IssuedAt: testNow, Revoked: []bundle.RevokedCert{{Serial: "0a"}}},
	} {
		if _, err := bundle.SignFeedPage(bad, f.p.BundleKey, f.chain); !errors.Is(err, bundle.ErrFeedInvalid) {
			t.Errorf("%s: SignFeedPage err = %v, want ErrFeedInvalid", name, err)
		}
	}
}

// TestSoLRState: the four states are the only valid ones, and only
// approved and active events authorise anything.
func TestSoLRState(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s                bundle.SoLRState
		valid, authorise bool
	}{
		{bundle.EventDeclared, true, false},
		{bundle.EventApproved, true, true},
		{bundle.EventActive, true, true},
		{bundle.EventClosed, true, false},
		{"pending", false, false},
		{"", false, false},
		{"Active", false, false},
	} {
		if tt.s.Valid() != tt.valid || tt.s.Authorises() != tt.authorise {
			t.Errorf("%q: Valid %v Authorises %v, want %v %v", tt.s, tt.s.Valid(), tt.s.Authorises(), tt.valid, tt.authorise)
		}
	}
	start := testNow
	end := start.Add(time.Hour)
	e := bundle.SoLREvent{State: bundle.EventActive, Start: start, End: &end}
	for at, want := range map[time.Time]bool{start.Add(-time.Nanosecond): false, start: true, end.Add(-time.Nanosecond): true, end: false} {
		if e.ActiveAt(at) != want {
			t.Errorf("ActiveAt(%s) = %v, want %v", at, !want, want)
		}
	}
	e.State = bundle.EventDeclared
	if e.ActiveAt(start) {
		t.Error("a declared event authorises")
	}
}

// tempDirs are the fixture's directories, removed by TestMain.
var tempDirs []string

// mkdtemp makes a directory for the shared fixture that outlives any one
// test (t.TempDir would be removed when its test ends).
func mkdtemp() (string, error) {
	d, err := os.MkdirTemp("", "smki-bundle-test-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}
