package verifycmd_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/testpki"
)

// TestVerifyFeedPages: a team checking smki testpki's cases from the
// command line gets each case's after_feed verdict with --feed (the
// revocation a sidecar following the RA would have had), its want
// without it, and a feed page that does not verify is a usage error
// (exit 2) naming the page and its code. Before --feed, smki verify could
// not apply a feed page at all: after_feed was reachable only through the
// Go API.
func TestVerifyFeedPages(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	if _, err := testpki.Build(context.Background(), testpki.Options{Out: out, At: at}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, testpki.CasesFile))
	if err != nil {
		t.Fatal(err)
	}
	var cs testpki.Cases
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	trust, feed := filepath.Join(out, cs.Trust), filepath.Join(out, cs.Feed)
	when := cs.At.Format(time.RFC3339)
	verdict := func(args ...string) (int, testpki.Verdict) {
		t.Helper()
		code, stdout, stderr := run(t, nil, append([]string{"verify", "--trust", trust, "--at", when}, args...)...)
		var v testpki.Verdict
		if err := json.Unmarshal(stdout, &v); err != nil {
			t.Fatalf("smki verify %v: exit %d, stdout %q, stderr %s", args, code, stdout, stderr)
		}
		return code, v
	}
	n := 0
	for _, c := range cs.Cases {
		if c.AfterFeed == nil || c.After != "" {
			continue
		}
		n++
		file := filepath.Join(out, filepath.FromSlash(c.File))
		if _, got := verdict(file); got != c.Want {
			t.Errorf("case %s without --feed: %+v, want %+v", c.Name, got, c.Want)
		}
		code, got := verdict("--feed", feed, file)
		if got != *c.AfterFeed || code != 3 {
			t.Errorf("case %s with --feed: exit %d, %+v, want exit 3, %+v", c.Name, code, got, *c.AfterFeed)
		}
		if n == 3 {
			break // each case is the same page and the same signer; three show it
		}
	}
	if n == 0 {
		t.Fatal("cases.json has no case with after_feed")
	}
	file := filepath.Join(out, filepath.FromSlash(cs.Cases[0].File))
	tampered := filepath.Join(t.TempDir(), "feed.json")
	page, err := os.ReadFile(feed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered, []byte(strings.Replace(string(page), `"payload":"`, `"payload":"A`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, args, want string }{
		{"tampered page", tampered, "--feed " + tampered + ": E_"},
		{"no such page", filepath.Join(out, "nope.json"), "nope.json could not be opened"},
	} {
		var args []string
		for _, f := range strings.Split(tc.args, ",") {
			args = append(args, "--feed", f)
		}
		code, stdout, stderr := run(t, nil, append(append([]string{"verify", "--trust", trust, "--at", when}, args...), file)...)
		if code != 2 || len(stdout) != 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, no decision, and %q", tc.name, code, stdout, stderr, tc.want)
		}
	}
}
