package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
)

// exitCodeRow is the meaning the exit-code table (verb.ExitCodeDoc, the
// table of docs/cli.md) gives code.
func exitCodeRow(t *testing.T, code string) string {
	t.Helper()
	for _, line := range strings.Split(verb.ExitCodeDoc, "\n") {
		if rest, ok := strings.CutPrefix(line, "| "+code+" | "); ok {
			return rest
		}
	}
	t.Fatalf("the exit-code table has no row %s:\n%s", code, verb.ExitCodeDoc)
	return ""
}

// TestExitCodeTableFiles: a file a flag names that cannot be read or
// created (a --csr that is not there or not readable, an --out whose
// directory is missing or that is a directory, an --out that exists where
// smki never replaces a file) exits 2 before anything is sent or written,
// and the exit-code table says so in row 2, not "I/O" in row 1 as it did
// while smki exited 2 for each of these.
func TestExitCodeTableFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, csr := filepath.Join(dir, "sc.key"), filepath.Join(dir, "sc.csr")
	if code, stderr := mainStderr("keygen", "--out", key); code != 0 {
		t.Fatal(stderr)
	}
	if code, stderr := mainStderr("csr", "--key", key, "--user-id", "90-B3-D5-1F-30-05-00-00", "--profile", "xml-signing", "--out", csr); code != 0 {
		t.Fatal(stderr)
	}
	closed := filepath.Join(dir, "closed.csr")
	os.WriteFile(closed, nil, 0)
	enroll := func(csrFile, out string) []string {
		return []string{"enroll", "--ra", "https://127.0.0.1:1", "--officer", dir, "--user-id", "90-B3-D5-1F-30-05-00-00",
			"--profile", "xml-signing", "--csr", csrFile, "--out", out}
	}
	cases := []struct {
		name string
		args []string
		flag string
	}{
		{"--csr not there", enroll(filepath.Join(dir, "nope.csr"), filepath.Join(dir, "a.pem")), "--csr"},
		{"--out in a missing directory", enroll(csr, filepath.Join(dir, "no-dir", "a.pem")), "--out"},
		{"--out a directory", enroll(csr, dir), "--out"},
		{"keygen --out exists", []string{"keygen", "--out", key}, "--out"},
		{"keygen --out in a missing directory", []string{"keygen", "--out", filepath.Join(dir, "no-dir", "k")}, "could not be created"},
	}
	if os.Geteuid() != 0 { // root reads a file of mode 0
		cases = append(cases, struct {
			name string
			args []string
			flag string
		}{"--csr not readable", enroll(closed, filepath.Join(dir, "a.pem")), "--csr"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stderr := mainStderr(tc.args...)
			if code != verb.ExitUsage || !strings.Contains(stderr, tc.flag) {
				t.Errorf("exit %d %q, want 2 naming %s", code, stderr, tc.flag)
			}
		})
	}
	if row := exitCodeRow(t, "2"); !strings.Contains(row, "a file a flag names that cannot be read or created") {
		t.Errorf("row 2 of the exit-code table does not promise exit 2 for a file a flag names that cannot be read or created: %q", row)
	}
	if row := exitCodeRow(t, "1"); strings.Contains(row, "I/O,") {
		t.Errorf("row 1 of the exit-code table promises exit 1 for any I/O error: %q", row)
	}
}
