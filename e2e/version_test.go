package e2e

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// TestVersion: smki --version and smki version [--json] exit 0 and name
// the version, the revision the binary was built from, and Go.
func TestVersion(t *testing.T) {
	t.Parallel()
	need.Tool(t, "git", "git")
	_, self, _, _ := runtime.Caller(0)
	rev, err := gitOutput(filepath.Dir(filepath.Dir(self)), "rev-parse", "HEAD")
	if err != nil {
		need.Missing(t, "a git checkout", err.Error())
	}
	r := mustRun(t, nil, "--version")
	if !strings.HasPrefix(r.stdout, "smki e2e (revision "+rev) || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("smki --version: %q, want version e2e, revision %s and the Go version", r.stdout, rev)
	}
	r = mustRun(t, nil, "version", "--json")
	var in struct{ Version, Revision, Go_version string }
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil || in.Version != "e2e" || in.Revision != rev || in.Go_version == "" {
		t.Errorf("smki version --json: %q (%v)", r.stdout, err)
	}
}

// TestUnknownVerbIsUsage: an unknown verb exits 2 with the usage on
// stderr and nothing on stdout; so does an unknown flag on a verb.
func TestUnknownVerbIsUsage(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "nosuchverb")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "USAGE:") || !strings.Contains(r.stderr, `unknown verb "nosuchverb"`) {
		t.Errorf("smki nosuchverb: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "serve", "--no-such-flag")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "usage: smki serve") {
		t.Errorf("smki serve --no-such-flag: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
