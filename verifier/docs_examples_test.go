package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/testpki"
	"github.com/smki/smki/verifier"
	"github.com/smki/smki/verifier/xmldsig"
)

// The docs/examples/ sample: built with smki testpki as of exampleBuildAt,
// exported at exampleBuildAt+1m.
var exampleBuildAt = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const (
	scUser        = "90-B3-D5-1F-30-05-00-00" // the scenario's SRP SC user (srp-sc-xml)
	templateUser  = "90-B3-D5-1F-30-01-00-00" // the originator DCC's templates carry
	decisionsFile = "decisions.json"
)

// exampleRequests: sample file -> the DUIS template it is signed from.
var exampleRequests = map[string]string{
	"sr1.6-accepted.xml": "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", // SR 1.6 to a Credit-mode meter in scope
	"sr1.6-refused.xml":  "ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", // SR 1.6 switching to Prepayment
}

// TestDocsExamples keeps docs/examples/ current: the samples, verified by
// this build's verifier from the sample trust directory at its export
// time, get exactly the decisions recorded in decisions.json (and shown
// in docs/examples/README.md). SMKI_UPDATE_EXAMPLES=1 rebuilds the whole
// sample first (smki testpki, DCC's DUIS templates from the conformance
// data, smki's signer), for when the scenario or the formats change.
func TestDocsExamples(t *testing.T) {
	dir := filepath.Join("..", "docs", "examples")
	if os.Getenv("SMKI_UPDATE_EXAMPLES") == "1" {
		regenerateExamples(t, dir)
	}
	v, at := sampleVerifier(t, filepath.Join(dir, "trust"))
	got := map[string]verifier.Decision{}
	for name := range exampleRequests {
		signed, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = v.Verify(signed, at)
	}
	want, err := os.ReadFile(filepath.Join(dir, decisionsFile))
	if err != nil {
		t.Fatal(err)
	}
	gotJSON := decisionsJSON(t, got)
	if !bytes.Equal(gotJSON, want) {
		t.Fatalf("docs/examples/%s is not what this build decides:\n%s\nwant (recorded)\n%s\nrun SMKI_UPDATE_EXAMPLES=1 go test -run TestDocsExamples ./verifier/ and review the change",
			decisionsFile, gotJSON, want)
	}
	if got["sr1.6-accepted.xml"].Decision != verifier.Accept || got["sr1.6-refused.xml"].Code != verifier.CodeE2 {
		t.Fatalf("the samples must show an accept and an E2 refusal, got %+v", got)
	}
}

func decisionsJSON(t *testing.T, d map[string]verifier.Decision) []byte {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// regenerateExamples rebuilds docs/examples/trust and the signed samples.
func regenerateExamples(t *testing.T, dir string) {
	t.Helper()
	tmp := t.TempDir()
	p, err := testpki.Build(context.Background(), testpki.Options{Out: filepath.Join(tmp, "pki"), At: exampleBuildAt})
	if err != nil {
		t.Fatal(err)
	}
	read := func(elem ...string) []byte {
		b, err := os.ReadFile(filepath.Join(elem...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	files := map[string][]byte{
		verifier.TrustRootFile:    read(p.Dir, "trust", "root.pem"),
		verifier.TrustIssuingFile: read(p.Dir, "trust", "issuing-ca.pem"),
		"arl.crl":                 p.ARL,
		"orl.crl":                 p.ORL,
		verifier.TrustBundleFile:  read(p.Dir, "bundle.json"),
	}
	trustDir := filepath.Join(dir, "trust")
	if err := os.RemoveAll(trustDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(trustDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.WriteTrust(trustDir, files, exampleBuildAt.Add(time.Minute), "smki testpki --at "+exampleBuildAt.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	sc := p.Users["srp-sc-xml"]
	for name, template := range exampleRequests {
		raw := read(conformance.Path(t, "duis", "requests", template))
		req := []byte(strings.Replace(string(raw), templateUser+":", scUser+":", 1))
		signed, err := xmldsig.Sign(req, sc.Key, sc.Cert, xmldsig.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), signed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The decisions are recorded from the rebuilt sample, then checked
	// like any other run.
	v, at := sampleVerifier(t, trustDir)
	got := map[string]verifier.Decision{}
	for name := range exampleRequests {
		got[name] = v.Verify(read(dir, name), at)
	}
	if err := os.WriteFile(filepath.Join(dir, decisionsFile), decisionsJSON(t, got), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sampleVerifier is a Verifier over the trust directory dir, evaluating at
// its manifest's export time (returned too).
func sampleVerifier(t *testing.T, dir string) (*verifier.Verifier, time.Time) {
	t.Helper()
	return sampleVerifierLater(t, dir, 0)
}

// sampleVerifierLater is sampleVerifier with its clock later than the
// export time by after (past the bundle's max age: a verifier not ready).
func sampleVerifierLater(t *testing.T, dir string, after time.Duration) (*verifier.Verifier, time.Time) {
	t.Helper()
	trust, err := verifier.LoadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := trust.Manifest.ExportedAt.Add(after)
	opts, err := trust.Options(at)
	if err != nil {
		t.Fatalf("the sample bundle does not open: %v", err)
	}
	opts.Clock = func() time.Time { return at }
	v, err := verifier.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v, at
}
