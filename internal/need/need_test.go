package need

import (
	"strings"
	"testing"
)

// recorder is a testing.TB that records how Missing ended it instead of
// ending the real test.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, args[0].(string)
	panic(r)
}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, args[0].(string)
	panic(r)
}

func end(f func(testing.TB)) (r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	f(r)
	return r
}

func TestMissingFailsInCIAndSkipsElsewhere(t *testing.T) {
	tests := []struct {
		ci, required bool
		wantFail     bool
	}{
		{false, false, false},
		{true, false, true},
		{false, true, true},
		{true, true, true},
	}
	for _, tt := range tests {
		if tt.ci {
			t.Setenv("CI", "true")
		} else {
			t.Setenv("CI", "")
		}
		r := end(func(tb testing.TB) { Unavailable(tb, "xmlsec1", "not on PATH", tt.required) })
		if r.failed != tt.wantFail || r.skipped == tt.wantFail {
			t.Errorf("CI=%v required=%v: failed=%v skipped=%v", tt.ci, tt.required, r.failed, r.skipped)
		}
		if !strings.HasPrefix(r.msg, Prefix+"xmlsec1: not on PATH") {
			t.Errorf("message %q does not name what is missing", r.msg)
		}
	}
}

func TestToolFindsAndNamesTools(t *testing.T) {
	t.Setenv("CI", "true")
	if r := end(func(tb testing.TB) { Tool(tb, "no-such-tool-smki", "nothing") }); !r.failed || !strings.Contains(r.msg, "no-such-tool-smki") {
		t.Fatalf("a missing tool in CI: failed=%v %q", r.failed, r.msg)
	}
	if r := end(func(tb testing.TB) { Tool(tb, "go", "golang") }); r.failed || r.skipped {
		t.Fatalf("go is on PATH (it runs this test): %q", r.msg)
	}
	if r := end(func(tb testing.TB) { File(tb, "DCC data", "/nonexistent/smki") }); !r.failed || !strings.Contains(r.msg, "DCC data") {
		t.Fatalf("a missing file in CI: failed=%v %q", r.failed, r.msg)
	}
}
