package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// ev is one go test -json event line.
func ev(action, test, output string) string {
	b, _ := json.Marshal(event{Action: action, Package: "github.com/smki/smki/e2e", Test: test, Output: output})
	return string(b) + "\n"
}

// contract is TestSignVerifyContract as go test -json reports it: the
// top-level test names R1, R3, R5 and L7; each content case either ran
// and passed or skipped (its DCC data missing); the usage-error case,
// which needs no data, passed; the top-level test passed.
func contract(casesSkip bool) string {
	var b strings.Builder
	b.WriteString(ev("run", "TestSignVerifyContract", ""))
	b.WriteString(ev("output", "TestSignVerifyContract", "    verify_test.go:66: requirement: R1,R3,R5,L7\n"))
	for _, c := range []string{"SC_to_Credit,_SMETS1", "SC_to_Prepayment", "SC_gas_to_Prepayment", "SC_other_service_request"} {
		name := "TestSignVerifyContract/" + c
		b.WriteString(ev("run", name, ""))
		if casesSkip {
			b.WriteString(ev("output", name, "    verify_test.go:45: needs DCC conformance data: not found\n"))
			b.WriteString(ev("skip", name, ""))
		} else {
			b.WriteString(ev("pass", name, ""))
		}
	}
	b.WriteString(ev("run", "TestSignVerifyContract/usage_errors_exit_2", ""))
	b.WriteString(ev("pass", "TestSignVerifyContract/usage_errors_exit_2", ""))
	b.WriteString(ev("pass", "TestSignVerifyContract", ""))
	return b.String()
}

func TestCreditsOnlyWhatRan(t *testing.T) {
	// A subtest naming its own requirement: credited when it ran, even
	// though a sibling (naming nothing) skipped; the parent's own tag is
	// not, because a case beneath it skipped.
	var tagged strings.Builder
	tagged.WriteString(ev("run", "TestSMETS2", ""))
	tagged.WriteString(ev("output", "TestSMETS2", "    x_test.go:1: requirement: L7\n"))
	tagged.WriteString(ev("run", "TestSMETS2/to_Credit", ""))
	tagged.WriteString(ev("output", "TestSMETS2/to_Credit", "    x_test.go:2: requirement: R5\n"))
	tagged.WriteString(ev("pass", "TestSMETS2/to_Credit", ""))
	tagged.WriteString(ev("run", "TestSMETS2/terminal", ""))
	tagged.WriteString(ev("skip", "TestSMETS2/terminal", ""))
	tagged.WriteString(ev("pass", "TestSMETS2", ""))

	tests := []struct {
		name         string
		stream       string
		wantProven   []string
		wantUnproven []string
		wantRow      string
	}{
		{"all requirement-bearing cases skipped", contract(true), nil, []string{"R1", "R3", "R5", "L7"},
			"passed, but the cases naming R5 did not all run"},
		{"all cases ran", contract(false), []string{"R1", "R3", "R5", "L7"}, nil, "`TestSignVerifyContract` (pass)"},
		{"a subtest's own tag", tagged.String(), []string{"R5"}, []string{"L7"}, "pass, 1 subtests skipped"},
		{"top-level skipped", ev("run", "TestX", "") + ev("output", "TestX", "requirement: R6\n") + ev("skip", "TestX", ""),
			nil, []string{"R6"}, "`TestX` (skipped)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := read(strings.NewReader(tt.stream))
			if err != nil {
				t.Fatal(err)
			}
			report, _, failed, unbacked := render(results)
			if failed != 0 {
				t.Errorf("%d failed, want 0", failed)
			}
			for _, id := range tt.wantProven {
				if slices.Contains(unbacked, id) {
					t.Errorf("%s unproven, want PASS", id)
				}
				if !strings.Contains(report, fmt.Sprintf("| %s | ", id)) || !rowHas(report, id, "**PASS**") {
					t.Errorf("%s row is not PASS:\n%s", id, report)
				}
			}
			for _, id := range tt.wantUnproven {
				if !slices.Contains(unbacked, id) {
					t.Errorf("%s credited, want unproven (unbacked %v)", id, unbacked)
				}
				if !rowHas(report, id, "**NOT SHOWN**") {
					t.Errorf("%s row is not NOT SHOWN:\n%s", id, report)
				}
			}
			if !strings.Contains(report, tt.wantRow) {
				t.Errorf("report lacks %q:\n%s", tt.wantRow, report)
			}
		})
	}
}

// rowHas reports whether the requirement table's row for id contains s.
func rowHas(report, id, s string) bool {
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "| "+id+" | ") {
			return strings.Contains(l, s)
		}
	}
	return false
}

func TestFailuresAndEmptyStreams(t *testing.T) {
	results, err := read(strings.NewReader(ev("run", "TestY", "") + ev("output", "TestY", "requirement: L1\n") +
		ev("run", "TestY/a", "") + ev("fail", "TestY/a", "") + ev("fail", "TestY", "")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, failed, unbacked := render(results); failed != 1 || !slices.Contains(unbacked, "L1") {
		t.Errorf("a failed test: failed=%d unbacked=%v", failed, unbacked)
	}
	if _, err := read(strings.NewReader("# build failed\n")); err == nil {
		t.Error("a stream with no events was accepted")
	}
	if _, err := read(strings.NewReader(`{"Action":"fail","Package":"github.com/smki/smki/e2e"}` + "\n")); err == nil {
		t.Error("a package failing outside any test was accepted")
	}
}
