package testpki_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/role"
	"github.com/smki/smki/testpki"
	"github.com/smki/smki/verifier"
)

var casesAt = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// verifierFor loads what a build wrote as a team's test would: the trust
// directory and bundle cases.json names, judged at its At.
func verifierFor(t *testing.T, out string, cs *testpki.Cases) *verifier.Verifier {
	t.Helper()
	trust, err := verifier.LoadTrust(filepath.Join(out, cs.Trust))
	if err != nil {
		t.Fatal(err)
	}
	if trust.Bundle, err = os.ReadFile(filepath.Join(out, cs.Bundle)); err != nil {
		t.Fatal(err)
	}
	opts, err := trust.Options(cs.At)
	if err != nil {
		t.Fatal(err)
	}
	at := cs.At
	opts.Clock = func() time.Time { return at }
	v, err := verifier.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readCases(t *testing.T, out string) *testpki.Cases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, testpki.CasesFile))
	if err != nil {
		t.Fatalf("the build wrote no %s: %v", testpki.CasesFile, err)
	}
	var cs testpki.Cases
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	return &cs
}

// TestCasesVerdicts: every case a build writes gets, from this build's
// verifier loaded from the files alone, exactly the verdict cases.json
// states; and the cases cover what an embedding team's tests need: an
// accept for every SRV each of the scenario's roles may send, and each
// kind of refusal.
func TestCasesVerdicts(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	if _, err := testpki.Build(context.Background(), testpki.Options{Out: out, At: casesAt}); err != nil {
		t.Fatal(err)
	}
	cs := readCases(t, out)
	if !cs.At.Equal(casesAt) {
		t.Errorf("cases at %s, built at %s", cs.At, casesAt)
	}
	v := verifierFor(t, out, cs)
	codes := map[string]bool{}
	accepted := map[string]bool{}   // role SRV
	preCommand := map[string]bool{} // SC's Command Variant 5 cases by code
	for _, c := range cs.Cases {
		signed := readCase(t, out, c)
		if cv := fmt.Sprintf("<sr:CommandVariant>%d</sr:CommandVariant>", c.CommandVariant); !bytes.Contains(signed, []byte(cv)) {
			t.Errorf("case %s: cases.json says command_variant %d, the request does not", c.Name, c.CommandVariant)
		}
		if c.Signer == "srp-sc-xml" && c.CommandVariant == 5 {
			preCommand[c.Want.Code] = true
		}
		d := v.Verify(signed, cs.At)
		got := testpki.Verdict{Decision: d.Decision, Code: d.Code, Route: d.Route}
		if got != c.Want {
			t.Errorf("case %s (%s): verifier says %+v (%s), cases.json %+v", c.Name, c.What, got, d.Reason, c.Want)
		}
		codes[c.Want.Code] = true
		if u, err := testpki.UserByName(c.Signer); err == nil && c.Want.Decision == verifier.Accept {
			accepted[string(u.Role)+" "+c.SRV] = true
		}
	}
	for _, code := range []string{"", verifier.CodeREVOKED, verifier.CodeCERT, verifier.CodeE1, verifier.CodeE2,
		verifier.CodeE4, verifier.CodeREPLAY, verifier.CodeSIG, verifier.CodeMALFORMED} {
		if !codes[code] {
			t.Errorf("no case wants code %q", code)
		}
	}
	// SR 1.6 as SC sends it to SMETS2+ meters: a SignedPreCommand (GBCS)
	// accepted, and refused for its content (E2).
	for _, code := range []string{"", verifier.CodeE2} {
		if !preCommand[code] {
			t.Errorf("no Command Variant 5 case of SC wants code %q", code)
		}
	}
	// An accept for every SRV each role may send: the default eligibility,
	// SC's allow-list in the bundle.
	for _, r := range role.All() {
		srvs := policy.Default().AllowList(r)
		if r == role.SoLRContingency {
			srvs = []string{"1.6"}
		}
		for _, srv := range srvs {
			if !accepted[string(r)+" "+srv] {
				t.Errorf("no accepted case of %s sending SR %s", r, srv)
			}
		}
	}
}

// TestTrustDirectoryAlone: the trust directory a build writes is whole,
// as docs/verifier.md "Embed it" uses one: LoadTrust and Options make a
// verifier from it alone, which accepts the first case.
func TestTrustDirectoryAlone(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	p, err := testpki.Build(context.Background(), testpki.Options{Out: out, At: casesAt})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := verifier.LoadTrust(filepath.Join(out, p.Cases.Trust))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := trust.Options(casesAt)
	if err != nil {
		t.Fatalf("the build's trust directory does not make a verifier alone: %v", err)
	}
	opts.Clock = func() time.Time { return casesAt }
	v, err := verifier.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Cases.Cases[0]
	signed, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(c.File)))
	if err != nil {
		t.Fatal(err)
	}
	if d := v.Verify(signed, casesAt); d.Decision != c.Want.Decision || d.Route != c.Want.Route {
		t.Errorf("case %s: %+v, want %+v", c.Name, d, c.Want)
	}
}

// TestBuildDeterministic: two builds at one At write the same files (but
// the CA's key files under ca/, named after their keys), the same
// cases.json and devices.csv byte for byte, and the same requests but for
// their signatures (XML, and a GBCS command's), so a team's golden files
// do not churn.
func TestBuildDeterministic(t *testing.T) {
	t.Parallel()
	var outs [2]string
	for i := range outs {
		outs[i] = filepath.Join(t.TempDir(), "pki")
		if _, err := testpki.Build(context.Background(), testpki.Options{Out: outs[i], At: casesAt}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(dir string) []string {
		var names []string
		if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if d.IsDir() && rel == "ca" {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				names = append(names, filepath.ToSlash(rel))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return names
	}
	a, b := list(outs[0]), list(outs[1])
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("two builds wrote different files:\n%v\n%v", a, b)
	}
	read := func(i int, name string) []byte {
		data, err := os.ReadFile(filepath.Join(outs[i], filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, name := range a {
		x, y := read(0, name), read(1, name)
		switch {
		case name == testpki.CasesFile || name == "devices.csv":
			if !bytes.Equal(x, y) {
				t.Errorf("%s differs between two builds at one At:\n%s\n%s", name, x, y)
			}
		case strings.HasPrefix(name, testpki.RequestsDir+"/"):
			if u, w := unsigned(x), unsigned(y); u != w {
				t.Errorf("%s differs (signature aside) between two builds at one At:\n%s\n%s", name, u, w)
			}
		}
	}
}

// unsigned is a signed request without its ds:Signature, and without the
// r||s of the GBCS command a SignedPreCommand carries (its last 64 bytes).
func unsigned(signed []byte) string {
	s := string(signed)
	if i, j := strings.Index(s, "<ds:Signature"), strings.LastIndex(s, "</ds:Signature>"); i >= 0 && j >= 0 {
		s = s[:i] + s[j+len("</ds:Signature>"):]
	}
	return gbcsPayload.ReplaceAllStringFunc(s, func(m string) string {
		raw, err := base64.StdEncoding.DecodeString(gbcsPayload.FindStringSubmatch(m)[1])
		if err != nil || len(raw) < 64 {
			return m
		}
		return "<sr:GBCSPayload>" + hex.EncodeToString(raw[:len(raw)-64]) + " unsigned</sr:GBCSPayload>"
	})
}

var gbcsPayload = regexp.MustCompile(`<sr:GBCSPayload>([^<]*)</sr:GBCSPayload>`)

// Build a scenario and read the verdicts it states: what a team's test
// runs through its own verifier wiring.
func ExampleBuild() {
	dir, err := os.MkdirTemp("", "testpki")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	p, err := testpki.Build(context.Background(), testpki.Options{Out: filepath.Join(dir, "pki"),
		At: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	accepts := map[string]int{}
	for _, c := range p.Cases.Cases {
		if c.Want.Decision == "accept" {
			accepts[c.Signer]++
		}
	}
	for _, u := range testpki.Users() {
		if n := accepts[u.Name]; n > 0 {
			fmt.Printf("%-17s %-2s accepts %d\n", u.Name, u.Role, n)
		}
	}
	for _, c := range p.Cases.Cases {
		if c.Want.Decision == "reject" {
			fmt.Printf("%-29s %-18s %s\n", c.Name, c.Signer, c.Want.Code)
		}
	}
	// Output:
	// supplier-b-xml    IS accepts 113
	// srp-sc-xml        SC accepts 4
	// supplier-b-es-xml ES accepts 16
	// supplier-c-gs-xml GS accepts 83
	// agent-rsa-xml     RSA accepts 18
	// dno-ed-xml        ED accepts 38
	// gdn-gt-xml        GT accepts 21
	// other-ou-xml      OU accepts 25
	// 316-replay                    supplier-b-xml     REPLAY
	// 317-revoked-signer            supplier-a-xml     REVOKED
	// 318-expired-signer            supplier-b-expired CERT
	// 319-wrong-role                supplier-b-gs      E1
	// 320-not-originator            supplier-b-xml     E1
	// 321-is-not-allowed-4.1.4      supplier-b-xml     E2
	// 322-sc-not-allowed-4.1.1      srp-sc-xml         E2
	// 323-sc-1.6-prepayment         srp-sc-xml         E2
	// 324-sc-out-of-scope           srp-sc-xml         E4
	// 325-sc-not-in-registry        srp-sc-xml         E4
	// 326-is-other-suppliers-device supplier-b-xml     E4
	// 327-bad-signature             supplier-b-xml     SIG
	// 328-dtd                       supplier-b-xml     MALFORMED
	// 331-sc-cv5-prepayment         srp-sc-xml         E2
	// 332-sc-cv5-other-device       srp-sc-xml         E2
	// 333-sc-cv5-other-supplier     srp-sc-xml         E2
}
