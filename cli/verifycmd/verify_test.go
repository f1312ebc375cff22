package verifycmd_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/cli"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/cli/verifycmd"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier"
)

// verifyFixture writes a minimal scenario: trust/{root,issuing-ca}.pem, an
// ORL, an SC signer's key.pem/cert.pem, and bundle.json naming it in an
// active SoLR event for supplier A's device.
func verifyFixture(t *testing.T, now time.Time) (dir string) {
	t.Helper()
	dir = t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	create := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, k *ecdsa.PrivateKey) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := dccx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	leafTmpl := func(id eui64.ID, ou string, r role.UserRole, sn int64) *x509.Certificate {
		ext, err := role.Extension(r)
		if err != nil {
			t.Fatal(err)
		}
		return &x509.Certificate{SerialNumber: big.NewInt(sn), NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: []pkix.Extension{ext},
			Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: ou},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: asn1.BitString{Bytes: id[:], BitLength: 64}},
			}}}
	}
	rk, ck, sk, bk := key(), key(), key(), key()
	rootT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root", OrganizationalUnit: []string{"00"}},
		NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	root := create(rootT, rootT, &rk.PublicKey, rk)
	ca := create(&x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Z1", OrganizationalUnit: []string{"07"}},
		NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, root, &ck.PublicKey, rk)
	sc, userA, dev := eui64.MustParse("90-B3-D5-1F-30-05-00-00"), eui64.MustParse("90-B3-D5-1F-30-01-00-00"), eui64.MustParse("00-DB-12-34-56-78-90-A0")
	scCert := create(leafTmpl(sc, "87", role.SoLRContingency, 100), ca, &sk.PublicKey, ck)
	bCert := create(leafTmpl(eui64.MustParse("90-B3-D5-1F-30-00-00-02"), "89", role.OtherUser, 101), ca, &bk.PublicKey, ck)
	orl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour),
		NextUpdate: now.Add(24 * time.Hour)}, ca, ck)
	if err != nil {
		t.Fatal(err)
	}
	party, srp := eui64.MustParse("90-B3-D5-1F-30-0A-00-00"), eui64.MustParse("90-B3-D5-1F-30-0C-00-00")
	b := &bundle.Bundle{Version: bundle.Version, IssuedAt: now.Add(-time.Minute), MaxAge: bundle.Duration(24 * time.Hour),
		Users: []bundle.User{
			{UserID: sc, PartyID: srp, Role: role.SoLRContingency, Status: bundle.StatusActive},
			{UserID: userA, PartyID: party, Role: role.ImportSupplier, Status: bundle.StatusActive},
		},
		AllowLists: map[role.UserRole][]string{role.SoLRContingency: {"1.6"}},
		SoLREvents: []bundle.SoLREvent{{ID: "E1", FailedParty: party, FailedSupplierUsers: []eui64.ID{userA}, SRPUser: sc,
			Start: now.Add(-time.Hour), State: bundle.EventActive}},
		ADT: []bundle.ADTScope{{SCUser: sc, SupplierUser: userA, SRVs: map[string]bundle.ADTThreshold{
			"1.6": {Period: bundle.Duration(time.Hour), Quarantine: 10}}}},
		Devices:      []bundle.Device{{Device: dev, SupplierUser: userA, SMETS: 1}},
		Certificates: [][]byte{scCert.Raw},
	}
	signed, err := bundle.Sign(b, bk, []*x509.Certificate{bCert, ca})
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	skDER, _ := x509.MarshalECPrivateKey(sk)
	files := map[string][]byte{
		"trust/root.pem": pemOf("CERTIFICATE", root.Raw), "trust/issuing-ca.pem": pemOf("CERTIFICATE", ca.Raw),
		"trust/orl.crl": orl, "bundle.json": signed,
		"sc/key.pem": pemOf("EC PRIVATE KEY", skDER), "sc/cert.pem": pemOf("CERTIFICATE", scCert.Raw),
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func run(t *testing.T, stdin []byte, args ...string) (int, []byte, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"smki"}, args...), bytes.NewReader(stdin), &out, &errb)
	return code, out.Bytes(), errb.String()
}

func TestSignVerifyCLI(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := now.Format(time.RFC3339)
	dir := verifyFixture(t, now)
	key, cert, bundle := filepath.Join(dir, "sc/key.pem"), filepath.Join(dir, "sc/cert.pem"), filepath.Join(dir, "bundle.json")
	tmpl := func(name string) []byte {
		b, err := os.ReadFile(conformance.Path(t, "duis", "requests", name))
		if err != nil {
			t.Fatal(err)
		}
		b, err = verifycmd.SetCounter(b, 1)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Replace(b, []byte("90-B3-D5-1F-30-01-00-00:"), []byte("90-B3-D5-1F-30-05-00-00:"), 1)
	}
	code, credit, stderr := run(t, tmpl("ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"), "sign", "--key", key, "--cert", cert, "--counter", "1002", "-")
	if code != verb.ExitOK || !bytes.Contains(credit, []byte(":1002</sr:RequestID>")) {
		t.Fatalf("sign: exit %d, %s", code, stderr)
	}
	_, prepay, _ := run(t, tmpl("ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"), "sign", "--key", key, "--cert", cert, "--include-cert", "-")
	tests := []struct {
		name     string
		stdin    []byte
		args     []string
		wantExit int
		wantCode string // "" for accept; "-" for no JSON
	}{
		{"accept", credit, []string{"verify", "--bundle", bundle, "--at", at, "-"}, verb.ExitOK, ""},
		{"reject E2 prepayment", prepay, []string{"verify", "--bundle", bundle, "--at", at, "-"}, verb.ExitReject, verifier.CodeE2},
		{"reject STALE a week later", credit, []string{"verify", "--bundle", bundle, "--at", now.AddDate(0, 0, 7).Format(time.RFC3339), "-"}, verb.ExitReject, verifier.CodeSTALE},
		{"missing bundle", credit, []string{"verify", "--bundle", filepath.Join(dir, "nope.json"), "-"}, verb.ExitUsage, "-"},
		{"bad --at", credit, []string{"verify", "--bundle", bundle, "--at", "yesterday", "-"}, verb.ExitUsage, "-"},
		{"no input", nil, []string{"verify", "--bundle", bundle}, verb.ExitUsage, "-"},
		{"wrong trust dir", credit, []string{"verify", "--bundle", bundle, "--trust", dir, "-"}, verb.ExitUsage, "-"},
	}
	for _, tt := range tests {
		code, out, stderr := run(t, tt.stdin, tt.args...)
		if code != tt.wantExit {
			t.Errorf("%s: exit %d, want %d (%s)", tt.name, code, tt.wantExit, stderr)
			continue
		}
		if tt.wantCode == "-" {
			if len(out) != 0 {
				t.Errorf("%s: stdout %q on a usage error", tt.name, out)
			}
			continue
		}
		var m map[string]string
		dec := json.NewDecoder(bytes.NewReader(out))
		if err := dec.Decode(&m); err != nil || dec.More() {
			t.Errorf("%s: stdout is not exactly one JSON object: %q", tt.name, out)
			continue
		}
		if m["code"] != tt.wantCode || len(m) != 4 {
			t.Errorf("%s: %v, want code %q and four keys", tt.name, m, tt.wantCode)
		}
		if tt.wantCode == "" && m["route"] != "00-DB-12-34-56-78-90-A0" {
			t.Errorf("%s: route %q", tt.name, m["route"])
		}
	}
	if code, _, _ := run(t, credit, "sign", "--key", cert, "--cert", cert, "-"); code != verb.ExitUsage {
		t.Errorf("sign with a certificate as key: exit %d", code)
	}
	if !strings.Contains(string(credit), "ds:Signature") {
		t.Error("no signature in sign output")
	}
}

// TestVerifyBundleOverCap: smki verify --bundle refuses a file over
// bundle.MaxBundleSize by its size, as a usage error naming the file,
// without reading it into memory first. It used to read the whole file
// (any size, /dev/zero included) before bundle.Open's cap looked at it.
// Not parallel: it measures the allocation of the run.
func TestVerifyBundleOverCap(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	dir := verifyFixture(t, now)
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(bundle.MaxBundleSize + 1); err != nil { // sparse: no disk, no write
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, out, stderr := run(t, []byte("<x/>"), "verify", "--bundle", big, "--trust", filepath.Join(dir, "trust"), "-")
	runtime.ReadMemStats(&after)
	want := fmt.Sprintf("%s is over %d bytes", big, bundle.MaxBundleSize)
	if code != verb.ExitUsage || len(out) != 0 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, stderr, verb.ExitUsage, want)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("refusing a %d-byte bundle allocated %d bytes", bundle.MaxBundleSize+1, n)
	}
}
