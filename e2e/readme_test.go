package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestReadmeFirstEnrolment runs the README's "Your first enrolment"
// commands as they are written, line by line, against a fresh
// `smki serve --dev`, from a directory where ./bin/smki is the binary under
// test and ./data the server's data directory (as after make run): every
// command exits 0 except one its comment says is "refused with E_CODE",
// which must exit 3 with that code. A README whose walkthrough no longer
// works fails here, not in a reader's first five minutes.
func TestReadmeFirstEnrolment(t *testing.T) {
	t.Parallel()
	block, work := readmeBlock(t, "## Your first enrolment")
	srv, data, _ := devRA(t)
	if err := os.Symlink(data, filepath.Join(work, "data")); err != nil {
		t.Fatal(err)
	}
	var prelude []string // the block's variable settings, in force for every command
	refusal := regexp.MustCompile(`refused with (E_[A-Z0-9_]+)`)
	want := "" // the code the comment above the next command announces
	commands := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			want = ""
			if m := refusal.FindStringSubmatch(line); m != nil {
				want = m[1]
			}
		case strings.HasPrefix(line, "export SMKI_RA_URL="):
			prelude = append(prelude, "export SMKI_RA_URL=https://"+srv.addr)
		case !strings.HasPrefix(line, "$"):
			prelude = append(prelude, line)
		default:
			commands++
			cmd := exec.Command("bash", "-c", strings.Join(append(prelude, line), "\n"))
			cmd.Dir = work
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			switch {
			case want == "" && code != 0:
				t.Fatalf("README line %q: exit %d\n%s", line, code, out)
			case want != "" && (code != 3 || !strings.Contains(string(out), want)):
				t.Fatalf("README line %q: exit %d, want exit 3 with %s (its comment says so)\n%s", line, code, want, out)
			}
			want = ""
		}
	}
	if commands < 8 {
		t.Fatalf("found %d commands in the README's walkthrough, want the whole of it", commands)
	}
}

// TestReadmeFirstLook runs the README's "A first look" commands as
// written (make build aside: ./bin/smki is the binary under test), with
// the scenario written to a directory of the test's instead of
// /tmp/scenario: the test PKI is built and openssl verifies the SC user's
// certificate against it.
func TestReadmeFirstLook(t *testing.T) {
	t.Parallel()
	need.Tool(t, "openssl", "openssl")
	block, work := readmeBlock(t, "## A first look")
	commands := 0
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "make build") {
			continue
		}
		commands++
		line = strings.ReplaceAll(line, "/tmp/scenario", filepath.Join(work, "scenario"))
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("README line %q: %v\n%s", line, err, out)
		}
	}
	if commands < 3 {
		t.Fatalf("found %d commands in the README's first look, want the whole of it", commands)
	}
}

// readmeBlock returns the first ```sh block after heading in the
// repository's README.md, and a directory to run it in where ./bin/smki
// is the binary under test.
func readmeBlock(t *testing.T, heading string) (block, work string) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(self)), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), heading)
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("README's %q has no sh block", heading)
	}
	block, _, ok = strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("README's %q block is not closed", heading)
	}
	work = t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(smkiBin, filepath.Join(work, "bin", "smki")); err != nil {
		t.Fatal(err)
	}
	return block, work
}
