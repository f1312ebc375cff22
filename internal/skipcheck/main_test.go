package main

import (
	"bytes"
	"strings"
	"testing"
)

// stream is a go test -json run: pkg/xml's TestOracle skipped (xmlsec1
// missing), pkg/e2e's TestRALoad skipped under -short, TestOK passed.
const stream = `{"Action":"start","Package":"x/xml"}
{"Action":"run","Package":"x/xml","Test":"TestOracle"}
{"Action":"output","Package":"x/xml","Test":"TestOracle","Output":"=== RUN   TestOracle\n"}
{"Action":"output","Package":"x/xml","Test":"TestOracle","Output":"    sign_test.go:48: needs xmlsec1: not on PATH\n"}
{"Action":"output","Package":"x/xml","Test":"TestOracle","Output":"--- SKIP: TestOracle (0.00s)\n"}
{"Action":"skip","Package":"x/xml","Test":"TestOracle"}
{"Action":"run","Package":"x/xml","Test":"TestOK"}
{"Action":"output","Package":"x/xml","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"x/xml","Test":"TestOK"}
{"Action":"output","Package":"x/xml","Output":"ok  \tx/xml\t0.1s\n"}
{"Action":"pass","Package":"x/xml"}
{"Action":"run","Package":"x/e2e","Test":"TestRALoad"}
{"Action":"output","Package":"x/e2e","Test":"TestRALoad","Output":"    load_test.go:30: SKIP: load test in -short mode\n"}
{"Action":"skip","Package":"x/e2e","Test":"TestRALoad"}
{"Action":"pass","Package":"x/e2e"}
`

const failing = `{"Action":"run","Package":"x/a","Test":"TestBad"}
{"Action":"output","Package":"x/a","Test":"TestBad","Output":"    a_test.go:9: boom\n"}
{"Action":"fail","Package":"x/a","Test":"TestBad"}
{"Action":"output","Package":"x/a","Output":"FAIL\tx/a\t0.1s\n"}
{"Action":"fail","Package":"x/a"}
`

func TestSkipsListedAndJudged(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		strict  bool
		wantBad int
		wantErr bool
		want    []string // in the report
	}{
		{"CI fails a skip not allowed", stream, true, 1, false,
			[]string{"x/xml TestOracle (NOT ALLOWED): sign_test.go:48: needs xmlsec1: not on PATH", "TestRALoad (allowed", "ok  \tx/xml"}},
		{"outside CI skips are listed only", stream, false, 0, false,
			[]string{"2 skipped tests", "x/xml TestOracle (NOT ALLOWED)", "listed, not failed"}},
		{"failures are reported with their output", failing, true, 0, true,
			[]string{"a_test.go:9: boom", "FAIL\tx/a", "no test skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var report, copied bytes.Buffer
			skips, failed, err := scan(strings.NewReader(tt.in), &report, &copied)
			if err != nil {
				t.Fatal(err)
			}
			if failed != tt.wantErr {
				t.Errorf("failed = %v, want %v", failed, tt.wantErr)
			}
			if bad := judge(skips, &report, tt.strict); bad != tt.wantBad {
				t.Errorf("%d not allowed, want %d", bad, tt.wantBad)
			}
			for _, w := range tt.want {
				if !strings.Contains(report.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, report.String())
				}
			}
			if strings.Contains(report.String(), "=== RUN   TestOK") {
				t.Errorf("a passing test's output is echoed:\n%s", report.String())
			}
			if copied.String() != tt.in {
				t.Errorf("-tee copy differs from the input")
			}
		})
	}
	if _, _, err := scan(strings.NewReader("go: build failed\n"), &bytes.Buffer{}, nil); err == nil {
		t.Error("a stream without one event is accepted")
	}
}
