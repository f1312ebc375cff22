// Command mutants is the mutation check behind `make mutants`: it applies
// a fixed list of product mutations, one per requirement R1-R7 and L6,
// each a one-line change that breaks the requirement, and runs the tests
// that must catch it. A mutant is caught when one of those tests fails; a
// mutant that compiles and passes them shows a requirement no test holds.
//
// Mutations never touch the tree: each is a `go test -overlay` (set
// through GOFLAGS, so the e2e tests' own `go build` of smki sees it too).
// First the same tests run unmutated and must pass, or a failure would
// prove nothing. A mutant whose text is no longer in its file is reported
// stale and fails the run: update the list when the code moves.
//
//	go run ./internal/mutants            # all
//	go run ./internal/mutants R5 L6      # some
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// suite is tests that must catch a mutant: go test -run Run Pkg.
type suite struct{ Pkg, Run string }

type mutant struct {
	ID       string // requirement it breaks
	What     string // the broken behaviour
	File     string // relative to the module root
	Old, New string // Old must occur exactly once in File
	Tests    []suite
}

var mutants = []mutant{
	{ID: "R1", What: "SoLR Contingency is no longer a User Role smki knows",
		File:  "role/role.go",
		Old:   "ElectricityDistributor, GasTransporter, OtherUser, SoLRContingency}",
		New:   "ElectricityDistributor, GasTransporter, OtherUser}",
		Tests: []suite{{"./e2e/", "^TestSignVerifyContract$"}}},
	{ID: "R2", What: "SC users may enrol for Digital Signing certificates",
		File:  "ra/eligibility/matrix.go",
		Old:   "role.SoLRContingency:         {ProfileXMLSigning},",
		New:   "role.SoLRContingency:         {ProfileXMLSigning, ProfileDigitalSigning},",
		Tests: []suite{{"./e2e/", "^TestRAEnrolmentAndRefusals$"}}},
	{ID: "R3", What: "the verifier lets an SC user send any Service Request",
		File:  "verifier/checks_policy.go",
		Old:   "allowed = set[srv]",
		New:   "allowed = set[srv] || u.Role == role.SoLRContingency",
		Tests: []suite{{"./e2e/", "^TestSignVerifyContract$"}}},
	{ID: "R4", What: "an officer of any party may submit an ADT file for an SC user",
		File:  "ra/registry/adt.go",
		Old:   "authz.Authorize(me, authz.ActSubmitADT, authz.Target{PartyID: scUser.PartyID})",
		New:   "authz.Authorize(me, authz.ActSubmitADT, authz.Target{PartyID: me.PartyID})",
		Tests: []suite{{"./e2e/", "^TestSoLRLifecycle$"}}},
	{ID: "R5", What: "an SMETS1 SR 1.6 from SC may change the payment mode to Prepayment",
		File:  "verifier/checks_policy.go",
		Old:   "if req.PaymentMode != duis.PaymentCredit {",
		New:   "if false && req.PaymentMode != duis.PaymentCredit {",
		Tests: []suite{{"./e2e/", "^TestSignVerifyContract$"}}},
	{ID: "R5", What: "an SMETS2+ pre-command (CV 5-7) from SC is not checked for a move to Credit",
		File:  "verifier/checks_policy.go",
		Old:   "if req.CommandVariant >= 5 && req.CommandVariant <= 7 {\n\t\tif len(req.GBCSPayload) == 0 {",
		New:   "if req.CommandVariant >= 5 && req.CommandVariant <= 7 {\n\t\treturn Decision{}, true\n\t\tif len(req.GBCSPayload) == 0 {",
		Tests: []suite{{"./e2e/", "^TestSoLRLifecycle$"}}},
	{ID: "R6", What: "an SC request is accepted without an active SoLR event (no default deny)",
		File:  "verifier/checks_solr.go",
		Old:   "if e.ActiveAt(at) {",
		New:   "if true || e.ActiveAt(at) {",
		Tests: []suite{{"./e2e/", "^TestSoLRLifecycle$"}}},
	{ID: "R7", What: "alerts of a failed Supplier's device go to the failed Supplier, not the SRP",
		File:  "verifier/alerts.go",
		Old:   "return []eui64.ID{e.SRPUser}, fmt.Sprintf(",
		New:   "return []eui64.ID{supplier}, fmt.Sprintf(",
		Tests: []suite{{"./e2e/", "^TestSoLRLifecycle$"}}},
	{ID: "L6", What: "the audit record hash leaves out Subject",
		File:  "store/audit.go",
		Old:   "\tfield([]byte(e.Subject))\n",
		New:   "\n",
		Tests: []suite{{"./store/", "Audit"}, {"./e2e/", "^TestAuditCheckpoint"}}},
}

func main() {
	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	only := os.Args[1:]
	work, err := os.MkdirTemp("", "smki-mutants-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(work)

	// The unmutated baseline: every suite once.
	var suites []suite
	for _, m := range mutants {
		if len(only) == 0 || slices.Contains(only, m.ID) {
			for _, s := range m.Tests {
				if !slices.Contains(suites, s) {
					suites = append(suites, s)
				}
			}
		}
	}
	for _, s := range suites {
		if out, failed := runSuite(root, "", s); failed {
			fatal(fmt.Errorf("baseline: go test -run '%s' %s fails without a mutation, so a mutant's failure would prove nothing:\n%s", s.Run, s.Pkg, out))
		}
	}
	fmt.Printf("baseline: %d test suites pass unmutated\n", len(suites))

	bad := 0
	for i, m := range mutants {
		if len(only) > 0 && !slices.Contains(only, m.ID) {
			continue
		}
		verdict, by := try(root, work, i, m)
		if verdict != "caught" {
			bad++
		}
		fmt.Printf("%-3s %-8s %s (%s)%s\n", m.ID, verdict, m.What, m.File, by)
	}
	if bad > 0 {
		fmt.Printf("mutants: %d not caught or stale\n", bad)
		os.Exit(1)
	}
	fmt.Println("mutants: all caught")
}

// try applies m through an overlay and runs its suites until one fails.
func try(root, work string, i int, m mutant) (verdict, by string) {
	src, err := os.ReadFile(filepath.Join(root, m.File))
	if err != nil {
		return "STALE", ": " + err.Error()
	}
	if n := bytes.Count(src, []byte(m.Old)); n != 1 {
		return "STALE", fmt.Sprintf(": the text to mutate occurs %d times", n)
	}
	mutated := filepath.Join(work, fmt.Sprintf("%d-%s", i, filepath.Base(m.File)))
	if err := os.WriteFile(mutated, bytes.Replace(src, []byte(m.Old), []byte(m.New), 1), 0o644); err != nil {
		fatal(err)
	}
	overlay := filepath.Join(work, fmt.Sprintf("%d-overlay.json", i))
	j, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, m.File): mutated}})
	if err := os.WriteFile(overlay, j, 0o644); err != nil {
		fatal(err)
	}
	for _, s := range m.Tests {
		out, failed := runSuite(root, overlay, s)
		if !failed {
			continue
		}
		if !strings.Contains(out, "--- FAIL") {
			return "INVALID", ": the mutant does not build or the run broke without a test failing:\n" + out
		}
		return "caught", " by " + failedTests(out)
	}
	return "SURVIVED", ""
}

// runSuite runs one suite (with overlay, if not "") and returns its output
// and whether it failed.
func runSuite(root, overlay string, s suite) (string, bool) {
	cmd := exec.Command("go", "test", "-count=1", "-timeout", "10m", "-run", s.Run, s.Pkg)
	cmd.Dir = root
	cmd.Env = os.Environ()
	if overlay != "" {
		cmd.Env = append(cmd.Env, "GOFLAGS=-overlay="+overlay)
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	fmt.Fprintf(os.Stderr, "  go test -run '%s' %s (%s): %v\n", s.Run, s.Pkg, time.Since(start).Round(time.Second), errOrOK(err))
	return string(out), err != nil
}

func errOrOK(err error) string {
	if err != nil {
		return "FAIL"
	}
	return "ok"
}

// failedTests names the tests that failed in out.
func failedTests(out string) string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "---" && f[1] == "FAIL:" && !slices.Contains(names, f[2]) {
			names = append(names, f[2])
		}
	}
	return strings.Join(names, ", ")
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the smki module")
	}
	return filepath.Dir(mod), nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(2)
}
