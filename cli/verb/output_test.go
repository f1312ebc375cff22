package verb

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

// appRuns serialises the tests' App runs: urfave/cli applies its
// package-level help flag (a shared *BoolFlag) to every App it runs, a
// write the race detector reports when two parallel tests run Apps at
// once. The smki binary runs one App per process.
var appRuns sync.Mutex

// runApp is app.Run(args) under appRuns.
func runApp(app *ucli.App, args ...string) error {
	appRuns.Lock()
	defer appRuns.Unlock()
	return app.Run(args)
}

// TestOneEachRows: a Call's prints lay out one answer as one row and a
// list as one row per element, under the header, aligned; an empty list
// is the header alone.
func TestOneEachRows(t *testing.T) {
	t.Parallel()
	type pair struct{ k, v string }
	row := func(p pair) []string { return []string{p.k, p.v} }
	run := func(action func(*ucli.Context) error) string {
		var out bytes.Buffer
		app := &ucli.App{Writer: &out, Commands: []*ucli.Command{{Name: "x", Action: action}}}
		if err := runApp(app, "smki", "x"); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, tc := range []struct {
		name   string
		action func(*ucli.Context) error
		want   string
	}{
		{"one", func(c *ucli.Context) error { return One(c, "K\tV", row)(pair{"a", "1"}) }, "K  V\na  1\n"},
		{"each", func(c *ucli.Context) error {
			return Each(c, "KEY\tV", row)([]pair{{"a", "1"}, {"bbbbbb", "2"}})
		}, "KEY     V\na       1\nbbbbbb  2\n"},
		{"each of none", func(c *ucli.Context) error { return Each(c, "K\tV", row)(nil) }, "K  V\n"},
	} {
		if got := run(tc.action); got != tc.want {
			t.Errorf("%s: printed %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Rows([]int{1, 2}, func(i int) []string { return []string{string(rune('0' + i))} }); len(got) != 2 || got[1][0] != "2" {
		t.Errorf("Rows = %v", got)
	}
}

// TestWriteOutFile: --out is written as a whole or not at all (a
// temporary file renamed over it, so a crash or a full disk never leaves
// a torn certificate in place of a good one), and a symlink planted at
// --out is replaced, never followed: the file it points to is untouched.
func TestWriteOutFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(path string, data []byte) error {
		app := &ucli.App{Writer: io.Discard, Commands: []*ucli.Command{{Name: "x",
			Action: func(c *ucli.Context) error { return WriteOut(c, path, data) }}}}
		return runApp(app, "smki", "x")
	}
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("someone else's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cert.pem")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	if err := write(out, []byte("new certificate")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "someone else's file" {
		t.Errorf("the file a symlink at --out points to now holds %q: the write followed the symlink", b)
	}
	if fi, err := os.Lstat(out); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("--out is %v (%v), want a regular file", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new certificate" {
		t.Errorf("--out holds %q", b)
	}
	// Replacing an existing file leaves nothing else behind.
	if err := write(out, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "second" {
		t.Errorf("--out holds %q, want second", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
