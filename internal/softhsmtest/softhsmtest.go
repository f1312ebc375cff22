// Package softhsmtest makes real SoftHSM2 tokens for tests of the PKCS#11
// key path. A token lives in its own temp directory, named by a
// SOFTHSM2_CONF that the test sets for its process (so callers cannot run
// in parallel with other tests that use SoftHSM2).
package softhsmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

// Module is where Debian's softhsm2 package puts the PKCS#11 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token initialises a fresh token labelled label (user PIN 1234) and
// returns its pkcs11: URI with the PIN. Without SoftHSM2 it skips, or
// fails in CI (CI=true), where .ci/run installs it.
func Token(t *testing.T, label string) string {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if err == nil {
		_, err = os.Stat(Module)
	}
	if err != nil {
		need.Missing(t, "SoftHSM2", fmt.Sprintf("softhsm2-util and %s (Debian package softhsm2): %v", Module, err))
	}
	tokens := t.TempDir()
	conf := filepath.Join(t.TempDir(), "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	if out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", "1234", "--so-pin", "5678").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	return "pkcs11:module-path=" + Module + ";token=" + label + "?pin-value=1234"
}

// Unplug takes the tokens of the test's SoftHSM2 (Token) away, as an HSM
// that is switched off or loses its network: every operation on them
// fails until the returned function puts them back (it is also run at
// the test's end). SoftHSM2 then finds them again only as new objects
// (new handles), as a rebooted HSM does.
func Unplug(t *testing.T) (replug func()) {
	t.Helper()
	conf, err := os.ReadFile(os.Getenv("SOFTHSM2_CONF"))
	if err != nil {
		t.Fatalf("Unplug without a Token: %v", err)
	}
	var dir string
	for _, line := range strings.Split(string(conf), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "directories.tokendir" {
			dir = strings.TrimSpace(v)
		}
	}
	away := dir + ".unplugged"
	if err := os.Rename(dir, away); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	done := false
	replug = func() {
		if done {
			return
		}
		done = true
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(away, dir); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(replug)
	return replug
}
