package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSecondServeOnOneDataDir: a second `smki serve` on the data directory
// a running one serves fails at start with exit 1, E_STORE_LOCKED and what
// to do, not bbolt's bare "bolt: open PATH: ..." text; the first keeps
// serving.
func TestSecondServeOnOneDataDir(t *testing.T) {
	t.Parallel()
	data := t.TempDir() + "/data"
	first := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	r := run(t, nil, "serve", "--dev", "--data", data, "--listen", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "E_STORE_LOCKED") || !strings.Contains(r.stderr, "another smki serve") ||
		!strings.Contains(r.stderr, "--data") || strings.Contains(r.stderr, "bolt:") {
		t.Fatalf("second smki serve: exit %d, stderr %q; want exit 1, E_STORE_LOCKED naming another smki serve and --data", r.code, r.stderr)
	}
	if code, _ := first.get(t, "/healthz"); code != 200 {
		t.Fatalf("first server after the second's attempt: /healthz %d", code)
	}
}
