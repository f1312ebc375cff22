package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// maxExposure is the highest `systemd-analyze security` exposure score
// deploy/smki.service may have (0 is fully sandboxed, 10 not at all; 1.6
// when written).
const maxExposure = 2.0

// TestSystemdUnit checks deploy/smki.service: it carries the hardening
// the issue asks for, `systemd-analyze verify` accepts it with no
// warning (a misspelt or unparsable directive is only a warning there),
// and its sandbox scores at most maxExposure.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	_, self, _, _ := runtime.Caller(0)
	unit, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(self)), "deploy", "smki.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"User=smki", "StateDirectory=smki", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "CapabilityBoundingSet=\n", "Restart=on-failure", "RestartPreventExitStatus=2\n", "ExecReload=/bin/kill -HUP $MAINPID",
		"ExecStart=/usr/local/bin/smki serve --config /etc/smki/smki.yaml"} {
		if !strings.Contains(string(unit), d) {
			t.Errorf("deploy/smki.service lacks %q", strings.TrimSpace(d))
		}
	}
	sa := need.Tool(t, "systemd-analyze", "systemd")
	// verify checks ExecStart exists: point it at the binary under test.
	f := filepath.Join(t.TempDir(), "smki.service")
	if err := os.WriteFile(f, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/smki", smkiBin)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, sa, "verify", f)
	if r.code != 0 || strings.TrimSpace(r.stderr+r.stdout) != "" {
		t.Fatalf("systemd-analyze verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, nil, sa, "security", "--offline=true", f)
	m := regexp.MustCompile(`Overall exposure level for smki.service: ([0-9.]+)`).FindStringSubmatch(r.stdout + r.stderr)
	if m == nil {
		need.Missing(t, "systemd-analyze security --offline", "this systemd is too old to score a unit file (systemd >= 250)")
	}
	if score, _ := strconv.ParseFloat(m[1], 64); score > maxExposure {
		t.Errorf("exposure %.1f > %.1f:\n%s", score, maxExposure, r.stdout)
	}
}
