package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/need"
)

var (
	scenarioOnce sync.Once
	scenarioDir  string
	scenarioErr  string
)

// scenario builds one test PKI with the real binary, shared by the tests
// of this file (they only read it). It is built without any test's t (the
// first caller's t may finish, or fail, before another uses the PKI); each
// caller reports a failure to build it as its own.
func scenario(t *testing.T) string {
	t.Helper()
	scenarioOnce.Do(func() {
		dir, err := os.MkdirTemp(filepath.Dir(smkiBin), "scenario-") // removed with the binary by TestMain
		if err != nil {
			scenarioErr = err.Error()
			return
		}
		scenarioDir = filepath.Join(dir, "pki")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, smkiBin, "testpki", "--out", scenarioDir).CombinedOutput(); err != nil {
			scenarioErr = fmt.Sprintf("%v\n%s", err, out)
		}
	})
	if scenarioErr != "" {
		t.Fatalf("smki testpki: %s", scenarioErr)
	}
	return scenarioDir
}

// asUser rewrites a DUIS template's originator to userID.
func asUser(t *testing.T, template, userID string) []byte {
	t.Helper()
	b, err := os.ReadFile(conformance.Path(t, "duis", "requests", template))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(string(b), "90-B3-D5-1F-30-01-00-00:", userID+":", 1))
}

// preCommand turns an SR 1.6 request into Command Variant 5: its Body
// becomes a SignedPreCommand carrying the GBCS command in vector (a hex
// file of DCC's GBCS conformance data).
func preCommand(t *testing.T, request []byte, vector string) []byte {
	t.Helper()
	text, err := os.ReadFile(conformance.Path(t, "gbcs", vector))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatalf("%s: %v", vector, err)
	}
	body := regexp.MustCompile(`(?s)<sr:Body>.*</sr:Body>`)
	if !body.Match(request) || !bytes.Contains(request, []byte("<sr:CommandVariant>4<")) {
		t.Fatal("the template is not a Command Variant 4 request with a Body")
	}
	out := body.ReplaceAll(request, []byte("<sr:Body><sr:SignedPreCommand><sr:GBCSPayload>"+
		base64.StdEncoding.EncodeToString(raw)+"</sr:GBCSPayload></sr:SignedPreCommand></sr:Body>"))
	return bytes.Replace(out, []byte("<sr:CommandVariant>4<"), []byte("<sr:CommandVariant>5<"), 1)
}

type decision struct {
	Decision string `json:"decision"`
	Code     string `json:"code"`
	Reason   string `json:"reason"`
	Route    string `json:"route"`
}

// TestSignVerifyContract drives `smki sign` and `smki verify` as docs/cli.md
// defines them: exactly one JSON object with four keys, exit 0 on
// accept, 3 on reject, 2 on a usage or I/O error; and what smki signs,
// xmlsec1 verifies.
func TestSignVerifyContract(t *testing.T) {
	t.Parallel()
	requirement(t, "R1", "R3", "R5", "L7")
	xmlsec := need.Tool(t, "xmlsec1", "xmlsec1")
	pki := scenario(t)
	bundle := filepath.Join(pki, "bundle.json")
	tests := []struct {
		name, template, user, key string
		counter                   string
		wantExit                  int
		wantCode                  string
	}{
		{"SC to Credit, SMETS1", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-05-00-00", "srp-sc-xml", "10", 0, ""},
		{"SC to Prepayment", "ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-05-00-00", "srp-sc-xml", "11", 3, "E2"},
		{"SC gas to Prepayment", "GCS03_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-05-00-00", "srp-sc-xml", "12", 3, "E2"},
		{"SC other service request", "ECS12_3.2_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-05-00-00", "srp-sc-xml", "13", 3, "E2"},
		{"failed supplier revoked", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-01-00-00", "supplier-a-xml", "14", 3, "REVOKED"},
		{"originator is not the signer", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-01-00-00", "srp-sc-xml", "15", 3, "E1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(pki, "users", tt.key)
			signed := run(t, asUser(t, tt.template, tt.user), "sign", "--key", filepath.Join(dir, "key.pem"),
				"--cert", filepath.Join(dir, "cert.pem"), "--counter", tt.counter, "-")
			if signed.code != 0 {
				t.Fatalf("sign: %d %s", signed.code, signed.stderr)
			}
			f := filepath.Join(t.TempDir(), "signed.xml")
			os.WriteFile(f, []byte(signed.stdout), 0o644)
			if r := runCmd(t, nil, xmlsec, "--verify", "--pubkey-cert-pem", filepath.Join(dir, "cert.pem"), f); r.code != 0 {
				t.Fatalf("xmlsec1 rejects what smki signed: %s", r.stderr)
			}
			r := run(t, nil, "verify", "--bundle", bundle, f)
			if r.code != tt.wantExit {
				t.Fatalf("exit %d, want %d: %s %s", r.code, tt.wantExit, r.stdout, r.stderr)
			}
			var raw map[string]any
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			if err := dec.Decode(&raw); err != nil {
				t.Fatalf("stdout is not one JSON object: %q", r.stdout)
			}
			if dec.More() {
				t.Fatalf("more than one JSON value on stdout: %q", r.stdout)
			}
			for _, k := range []string{"decision", "code", "reason", "route"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("JSON lacks %q: %s", k, r.stdout)
				}
			}
			var d decision
			json.Unmarshal([]byte(r.stdout), &d)
			if d.Code != tt.wantCode {
				t.Errorf("code %q, want %q (%s)", d.Code, tt.wantCode, d.Reason)
			}
			if tt.wantExit == 0 && (d.Decision != "accept" || d.Route != "00-DB-12-34-56-78-90-A0") {
				t.Errorf("accept: %+v", d)
			}
			if tt.wantExit == 3 && (d.Decision != "reject" || d.Reason == "") {
				t.Errorf("reject: %+v", d)
			}
		})
	}
	t.Run("usage errors exit 2", func(t *testing.T) {
		t.Parallel()
		if r := run(t, nil, "verify", "--bundle", filepath.Join(pki, "missing.json"), bundle); r.code != 2 {
			t.Errorf("missing bundle: exit %d", r.code)
		}
		if r := run(t, nil, "verify", "--bundle", bundle, filepath.Join(pki, "missing.xml")); r.code != 2 {
			t.Errorf("missing input: exit %d", r.code)
		}
	})
}

// TestXmlsecSignedRequestPasses signs a DUIS request with xmlsec1 (a
// different implementation) and a testpki key, and expects smki to accept
// it: interop in the direction TestSignVerifyContract does not cover.
func TestXmlsecSignedRequestPasses(t *testing.T) {
	t.Parallel()
	requirement(t, "L7")
	xmlsec := need.Tool(t, "xmlsec1", "xmlsec1")
	pki := scenario(t)
	sc := filepath.Join(pki, "users", "srp-sc-xml")
	tmpl := string(asUser(t, "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "90-B3-D5-1F-30-05-00-00"))
	// Make DCC's template an xmlsec1 signing template: no comment, empty
	// digest and signature values, an IssuerSerial for xmlsec1 to fill.
	tmpl = regexp.MustCompile(`(?s)<!--.*?-->\s*`).ReplaceAllString(tmpl, "")
	tmpl = strings.ReplaceAll(tmpl, "ZGVmYXVsdA==", "")
	tmpl = strings.Replace(tmpl, ":1002<", ":9001<", 1)
	tmpl = regexp.MustCompile(`(?s)<ds:X509IssuerSerial>.*?</ds:X509IssuerSerial>`).ReplaceAllString(tmpl, "<ds:X509IssuerSerial/>")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "template.xml"), filepath.Join(dir, "signed.xml")
	os.WriteFile(in, []byte(tmpl), 0o644)
	if r := runCmd(t, nil, xmlsec, "--sign", "--privkey-pem", filepath.Join(sc, "key.pem")+","+filepath.Join(sc, "cert.pem"),
		"--output", out, in); r.code != 0 {
		t.Fatalf("xmlsec1 --sign: %s", r.stderr)
	}
	r := run(t, nil, "verify", "--bundle", filepath.Join(pki, "bundle.json"), out)
	var d decision
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 || d.Decision != "accept" {
		t.Fatalf("smki verify of an xmlsec1-signed request: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	// And the same bytes with one character of content changed fail SIG.
	signed, _ := os.ReadFile(out)
	bad := strings.Replace(string(signed), "<sr:Credit/>", "<sr:Credit></sr:Credit> ", 1)
	os.WriteFile(out, []byte(bad), 0o644)
	r = run(t, nil, "verify", "--bundle", filepath.Join(pki, "bundle.json"), out)
	json.Unmarshal([]byte(r.stdout), &d)
	if r.code != 3 || d.Code != "SIG" {
		t.Fatalf("tampered xmlsec1-signed request: exit %d %s", r.code, r.stdout)
	}
}
