package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs `smki demo` on the real binary: it starts its own `smki
// serve --dev` (a child of the same binary), plays the whole SoLR night
// and must exit 0 with every step and every refusal code in its account.
// A second run in JSON mode on a --data directory checks the machine
// report agrees and that the demo refuses to reuse a store.
//
// It is a smoke test and proves no requirement: what each step of the
// night should answer is written in the product (demo/stream.go), so the
// demo judges itself. The requirements are proven by tests that write
// their expected outcomes down (TestSignVerifyContract, TestSoLRLifecycle,
// TestRAEnrolmentAndRefusals and the rest).
func TestDemo(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "demo")
	if r.code != 0 {
		t.Fatalf("smki demo: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	for _, want := range []string{
		// every step, by its title
		"Start smki serve --dev", "RA set-up", "Officers: SROs by the operator, AROs by their SROs",
		"Device registry imported", "Suppliers' certificates enrolled", "SRP enrolment through the CLI",
		"$ smki keygen", "$ smki csr", "$ smki enroll", "ADT file signed and submitted",
		"Authority instruction declared", "would revoke", "Four-eyes", "Second person approves",
		"Verifier: signed bundle", "revoked at its scheduled time", "applied live by the follower", "ORL number",
		"Stream of signed Service Requests", "summary:", "DCC Alerts routed", "Event closed", "Audit chain verified",
		"Stop smki serve", "Demo passed",
		// every code the night must show
		"E_RA_NOT_ELIGIBLE", "E_RA_FOUR_EYES", "got accept", "got E1", "got E2", "got E4", "got AD1",
		"got SIG", "got REVOKED", "got REPLAY", "got MALFORMED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's account lacks %q", want)
		}
	}
	if strings.Contains(out, "✗") {
		t.Errorf("a step or request is marked failed:\n%s", out)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestDemoJSON: --json reports the same night as data, and --data keeps
// the server's directory, which a second run refuses to reuse.
func TestDemoJSON(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	r := run(t, nil, "demo", "--json", "--data", data)
	if r.code != 0 {
		t.Fatalf("smki demo --json: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		OK    bool `json:"ok"`
		Steps []struct {
			Title string `json:"title"`
			OK    bool   `json:"ok"`
		} `json:"steps"`
		Stream []struct {
			Want, Got string
			OK        bool
		} `json:"stream"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("not one JSON report: %v\n%s", err, r.stdout)
	}
	if !rep.OK || len(rep.Steps) < 17 || len(rep.Stream) < 15 {
		t.Fatalf("report ok=%v with %d steps and %d requests", rep.OK, len(rep.Steps), len(rep.Stream))
	}
	codes := map[string]bool{}
	for _, s := range rep.Stream {
		if !s.OK {
			t.Errorf("request want %s got %s", s.Want, s.Got)
		}
		codes[s.Got] = true
	}
	for _, c := range []string{"accept", "E1", "E2", "E4", "AD1", "SIG", "REVOKED", "REPLAY", "MALFORMED"} {
		if !codes[c] {
			t.Errorf("the stream never answered %s", c)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "smki.db")); err != nil {
		t.Fatalf("--data was not used: %v", err)
	}
	again := run(t, nil, "demo", "--data", data)
	if again.code != 2 || !strings.Contains(again.stderr, "E_DEMO_USAGE") {
		t.Fatalf("a second demo on the same --data: exit %d, %s", again.code, again.stderr)
	}
}
