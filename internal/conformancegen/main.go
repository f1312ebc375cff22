// Command conformancegen turns `go test -json` output of the e2e tests into
// docs/conformance.md: each requirement of MP134B (R1-R7) and of the SMKI
// lifecycle (L1-L8), the tests that prove it, whether they passed, and the
// command that reruns them. Tests name their requirements with a
// "requirement: R2,R6" log line (e2e/requirements_test.go).
//
// A test credits a requirement only if the test passed and the subtest
// that names the requirement (or the test itself, when it names it) ran
// and passed with none of its own subtests skipped: a test whose
// requirement-bearing cases all skipped proves nothing, even when a
// usage-error case beside them passed.
//
// It exits non-zero if any test failed or any requirement has no passing
// test, so the report can only be green when the evidence is.
//
//	go test -json ./e2e/ | go run ./internal/conformancegen -out docs/conformance.md
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// requirements is the acceptance list: the seed's business requirements
// (MP134B R1-R7) and the lifecycle a real SMKI RA needs.
var requirements = []struct{ id, text string }{
	{"R1", "A new User Role, SoLR Contingency (SC), defined like the DUIS roles (eligibility per Service Request)."},
	{"R2", "Parties in that role can get XML Signing certificates, never Digital Signing keys for Critical Commands."},
	{"R3", "The role may send only SR 1.6 Update Payment Mode; the list is configurable (data, not code)."},
	{"R4", "The role's party can have AROs and SROs, who submit ADT files that let the role send Service Requests to the devices of one named Supplier."},
	{"R5", "Content check: SR 1.6 (SMETS1) and the Signed Pre-Command (SMETS2+) may only change payment mode to Credit."},
	{"R6", "Default deny: only during a Supplier failure, on the Authority's specific instruction."},
	{"R7", "After the failed Supplier's certificates are revoked, DCC Alerts for its devices still reach a party (its SRP)."},
	{"L1", "Parties, users and officers (SRO, ARO, RA staff), with who-may-do-what enforced."},
	{"L2", "Enrolment from a CSR made by a real client, with the role -> profile eligibility."},
	{"L3", "Issuance under the SMKI certificate profiles, chaining to the root (openssl verifies)."},
	{"L4", "Revocation: single and bulk, immediate or scheduled."},
	{"L5", "CRLs (ARL, ORL) published and verifiable."},
	{"L6", "An audit trail that cannot be quietly rewritten."},
	{"L7", "A verifier on the command path: signature, chain, revocation, role, eligibility, replay; exact CLI contract."},
	{"L8", "The server runs from one command on the embedded store."},
}

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// result is one top-level test and what its subtests showed.
type result struct {
	name   string
	pass   bool
	ran    bool
	reqs   []string        // every requirement it or a subtest names
	proven map[string]bool // those whose naming (sub)test ran and passed with no skip beneath it
	skips  []string        // subtests that skipped
	output strings.Builder
}

// node is one test or subtest of the stream.
type node struct {
	pass, skip bool
	reqs       []string
}

var tagRE = regexp.MustCompile(`requirement: ([A-Z0-9,]+)`)

func main() {
	out := flag.String("out", "docs/conformance.md", "report to write")
	flag.Parse()
	results, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformancegen:", err)
		os.Exit(2)
	}
	report, passed, failed, unbacked := render(results)
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "conformancegen:", err)
		os.Exit(2)
	}
	for _, r := range results {
		if r.ran && !r.pass {
			fmt.Fprintf(os.Stderr, "--- FAIL: %s\n%s", r.name, r.output.String())
		}
	}
	fmt.Printf("conformance report %s: %d requirements, %d unbacked\n", *out, len(requirements), len(unbacked))
	if len(unbacked) > 0 {
		fmt.Printf("requirements without a passing test: %s\n", strings.Join(unbacked, ", "))
	}
	fmt.Printf("conformance: %d passed, %d failed\n", passed, failed)
	if failed > 0 || len(unbacked) > 0 {
		os.Exit(1)
	}
}

// read collects per-test results; subtests count toward their top-level
// test, whose tags they inherit.
func read(r io.Reader) (map[string]*result, error) {
	results := map[string]*result{}
	nodes := map[string]*node{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	sawAny := false
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // build output and other noise
		}
		sawAny = true
		if e.Test == "" {
			if e.Action == "fail" && e.Package != "" {
				return nil, fmt.Errorf("package %s failed outside any test (build or TestMain)", e.Package)
			}
			continue
		}
		top, _, _ := strings.Cut(e.Test, "/")
		res := results[top]
		if res == nil {
			res = &result{name: top, proven: map[string]bool{}}
			results[top] = res
		}
		n := nodes[e.Test]
		if n == nil {
			n = &node{}
			nodes[e.Test] = n
		}
		switch e.Action {
		case "output":
			if m := tagRE.FindStringSubmatch(e.Output); m != nil {
				for _, id := range strings.Split(m[1], ",") {
					if !slices.Contains(res.reqs, id) {
						res.reqs = append(res.reqs, id)
					}
					if !slices.Contains(n.reqs, id) {
						n.reqs = append(n.reqs, id)
					}
				}
			}
			res.output.WriteString(e.Output)
		case "pass":
			n.pass = true
			if e.Test == top {
				res.ran, res.pass = true, true
			}
		case "fail":
			res.ran, res.pass = true, false
		case "skip":
			n.skip = true
			if e.Test == top {
				res.ran, res.pass = false, false
			} else {
				res.skips = append(res.skips, e.Test)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !sawAny {
		return nil, fmt.Errorf("no go test -json events on stdin")
	}
	for name, n := range nodes {
		if !n.pass || len(n.reqs) == 0 || skippedBeneath(nodes, name) {
			continue
		}
		top, _, _ := strings.Cut(name, "/")
		for _, id := range n.reqs {
			results[top].proven[id] = true
		}
	}
	return results, nil
}

// skippedBeneath reports whether a subtest of the test named name skipped.
func skippedBeneath(nodes map[string]*node, name string) bool {
	for other, n := range nodes {
		if n.skip && strings.HasPrefix(other, name+"/") {
			return true
		}
	}
	return false
}

func render(results map[string]*result) (report string, passed, failed int, unbacked []string) {
	var b strings.Builder
	b.WriteString("<!-- Generated by `make conformance` from the e2e tests' results; do not edit. -->\n\n")
	b.WriteString("# Requirements conformance\n\n")
	b.WriteString("Each requirement of MP134B (R1-R7) and of the SMKI lifecycle (L1-L8), the end-to-end tests that\n")
	b.WriteString("prove it on the real `smki` binary, and their result in the run that wrote this file.\n")
	b.WriteString("Rerun everything with `make conformance`, or one test with the command shown.\n\n")
	b.WriteString("| id | requirement | tests | result |\n|---|---|---|---|\n")
	for _, req := range requirements {
		var names []string
		ok := false
		for _, r := range results {
			if slices.Contains(r.reqs, req.id) {
				mark := "fail"
				switch {
				case r.pass && r.proven[req.id]:
					mark, ok = "pass", true
				case !r.ran:
					mark = "skipped"
				case r.pass:
					mark = "passed, but the cases naming " + req.id + " did not all run"
				}
				names = append(names, fmt.Sprintf("`%s` (%s)", r.name, mark))
			}
		}
		sort.Strings(names)
		status := "**PASS**"
		if !ok {
			status = "**NOT SHOWN**"
			unbacked = append(unbacked, req.id)
		}
		if len(names) == 0 {
			names = []string{"none"}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", req.id, req.text, strings.Join(names, "<br>"), status)
	}
	b.WriteString("\n## Tests\n\n| test | requirements | result | rerun |\n|---|---|---|---|\n")
	var all []*result
	for _, r := range results {
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, r := range all {
		res := "pass"
		switch {
		case !r.ran:
			res = "skipped"
		case !r.pass:
			res = "FAIL"
		case len(r.skips) > 0:
			res = fmt.Sprintf("pass, %d subtests skipped", len(r.skips))
		}
		if r.ran && r.pass {
			passed++
		} else if r.ran {
			failed++
		}
		reqs := strings.Join(r.reqs, ", ")
		if reqs == "" {
			reqs = "-"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `go test -count=1 -run '^%s$' ./e2e/` |\n", r.name, reqs, res, r.name)
	}
	return b.String(), passed, failed, unbacked
}
