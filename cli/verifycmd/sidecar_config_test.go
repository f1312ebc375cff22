package verifycmd_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/cli/verb"
)

// TestSidecarConfigErrorsCoded: every setting of `smki verifier serve`
// that cannot work is refused at start with exit 2, the stable code
// E_VERIFIER_CONFIG (E_REPLAY_STORE for the state file), the flag's name
// and what to do; nothing is served. Before, most said what was wrong
// without a code (a flag error had none; the same mistake in --trust had
// E_VERIFIER_CONFIG), --bundle printed Go's "open ...: no such file or
// directory", and a negative --max-age named the library's Options.MaxAge.
func TestSidecarConfigErrorsCoded(t *testing.T) {
	t.Parallel()
	fx := verifyFixture(t, time.Now())
	trust, bundle := filepath.Join(fx, "trust"), filepath.Join(fx, "bundle.json")
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	noBundle := t.TempDir()
	for _, f := range []string{"root.pem", "issuing-ca.pem"} {
		data, err := os.ReadFile(filepath.Join(trust, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(noBundle, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	base := []string{"verifier", "serve", "--listen", "127.0.0.1:0"}
	std := []string{"--trust", trust, "--bundle", bundle}
	tests := []struct {
		name       string
		args       []string
		code, flag string
	}{
		{"listen address", []string{"--listen", "nonsense"}, "E_VERIFIER_CONFIG", "--listen"},
		{"listen address in use", []string{"--listen", busy.Addr().String()}, "E_VERIFIER_CONFIG", "--listen"},
		{"tls cert without key", []string{"--tls-cert", junk}, "E_VERIFIER_CONFIG", "--tls-key"},
		{"tls pair unreadable", []string{"--tls-cert", junk, "--tls-key", junk}, "E_VERIFIER_CONFIG", "--tls-cert"},
		{"client CA without tls", []string{"--tls-client-ca", junk}, "E_VERIFIER_CONFIG", "--tls-client-ca"},
		{"officer without ra", []string{"--officer", fx}, "E_VERIFIER_CONFIG", "--officer"},
		{"ra not https", []string{"--ra", "http://127.0.0.1:8443", "--officer", fx}, "E_VERIFIER_CONFIG", "--ra"},
		{"ra without officer", []string{"--ra", "https://127.0.0.1:8443"}, "E_VERIFIER_CONFIG", "--officer"},
		{"officer unusable", []string{"--ra", "https://127.0.0.1:8443", "--officer", t.TempDir()}, "E_VERIFIER_CONFIG", "--officer"},
		{"bundle missing", []string{"--bundle", filepath.Join(fx, "absent.json")}, "E_VERIFIER_CONFIG", "--bundle"},
		{"trust without bundle", []string{"--trust", noBundle, "--bundle", ""}, "E_VERIFIER_CONFIG", "--trust"},
		{"trust missing", []string{"--trust", filepath.Join(fx, "absent")}, "E_VERIFIER_CONFIG", "--trust"},
		{"negative max-age", []string{"--max-age", "-1s"}, "E_VERIFIER_CONFIG", "--max-age"},
		// Before, taken silently as the default (1m) and as 0.
		{"zero bundle-interval", []string{"--bundle-interval", "0s"}, "E_VERIFIER_CONFIG", "--bundle-interval"},
		{"negative fsync-delay", []string{"--fsync-delay", "-1ms"}, "E_VERIFIER_CONFIG", "--fsync-delay"},
		{"ready-file unwritable", []string{"--ready-file", filepath.Join(fx, "absent", "ready")}, "E_VERIFIER_CONFIG", "--ready-file"},
		{"state file unusable", []string{"--state-file", junk}, "E_REPLAY_STORE", "--state-file"},
	}
	for _, tt := range tests {
		args := append(append(append([]string{}, base...), std...), tt.args...)
		type result struct {
			code   int
			stderr string
		}
		done := make(chan result, 1)
		go func() { code, _, stderr := run(t, nil, args...); done <- result{code, stderr} }()
		var code int
		var stderr string
		select {
		case r := <-done:
			code, stderr = r.code, r.stderr
		case <-time.After(20 * time.Second):
			t.Errorf("%s: still serving after 20s, want it refused at start", tt.name)
			continue
		}
		if code != verb.ExitUsage || !strings.Contains(stderr, tt.code) || !strings.Contains(stderr, tt.flag) {
			t.Errorf("%s: exit %d %q, want exit %d with %s naming %s", tt.name, code, strings.TrimSpace(stderr), verb.ExitUsage, tt.code, tt.flag)
		}
	}
}
