// Package e2e drives the real smki binary, built once from this tree, and
// real servers and tools (openssl, xmlsec1) against it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// smkiBin is the binary under test, built by TestMain.
var smkiBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smki-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	smkiBin = filepath.Join(dir, "smki")
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(self))
	// Stamped as make build stamps it (Makefile LDFLAGS), so the tests see
	// the version and revision a release shows.
	buildArgs := []string{"build", "-o", smkiBin}
	if rev, err := gitOutput(root, "rev-parse", "HEAD"); err == nil {
		buildArgs = append(buildArgs, "-ldflags", "-X github.com/smki/smki/internal/buildinfo.version=e2e -X github.com/smki/smki/internal/buildinfo.revision="+rev)
	}
	build := exec.Command("go", append(buildArgs, "./cmd/smki")...)
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building smki:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gitOutput runs git in dir and returns its trimmed output.
func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// result is what one run of a command produced.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the smki binary with args (and stdin, if not nil) and returns
// its output and exit code; it fails the test only if the binary cannot be
// run at all.
func run(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	r := runCmd(t, stdin, smkiBin, args...)
	if r.code == 0 && slices.Contains(args, "--json") {
		checkSnakeJSON(t, args, r.stdout)
	}
	return r
}

// goName is a JSON member name spelled like a Go field (Seq, RevokedAt) or
// camelCase (revokedAt): never a member of smki's JSON, which is
// snake_case (issue 15). Map keys that are data (EUI-64s, role codes, file
// names) do not look like this.
var goName = regexp.MustCompile(`^([A-Z][a-z]+|[a-z]+[A-Z])[A-Za-z0-9]*$`)

// checkSnakeJSON fails the test if a --json output (one JSON value or
// several, a line each) has a member named like a Go field.
func checkSnakeJSON(t *testing.T, args []string, out string) {
	t.Helper()
	var walk func(v any) string
	walk = func(v any) string {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if goName.MatchString(k) {
					return k
				}
				if bad := walk(e); bad != "" {
					return bad
				}
			}
		case []any:
			for _, e := range v {
				if bad := walk(e); bad != "" {
					return bad
				}
			}
		}
		return ""
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var v any
		if dec.Decode(&v) != nil {
			return // the end, or not JSON: other checks read it
		}
		if bad := walk(v); bad != "" {
			t.Errorf("smki %v: JSON member %q is not snake_case:\n%s", args, bad, out)
			return
		}
	}
}

// runCmd runs any program with a time bound.
func runCmd(t *testing.T, stdin []byte, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// mustRun is run that fails the test unless the command exits 0.
func mustRun(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	r := run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("smki %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}
