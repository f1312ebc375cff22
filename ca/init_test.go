package ca

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/internal/softhsmtest"
)

// TestInitFailedRemovesItsKeys: an Init that fails after its keys were
// made (here: a root validity that ends before it starts once cut to
// 23:59:59), before its transaction, removes them again: no key file and
// no keys directory it made (softkms), no key left in the token
// (PKCS#11); Init then run right succeeds.
// Not parallel: the PKCS#11 case sets SOFTHSM2_CONF for the process.
func TestInitFailedRemovesItsKeys(t *testing.T) {
	for _, kmsKind := range []string{kindSoft, kindPKCS11} {
		t.Run(kmsKind, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Passphrase: []byte("correct horse battery staple"), Clock: (&fakeClock{t: testStart}).Now}
			if kmsKind == kindPKCS11 {
				cfg.KMS = softhsmtest.Token(t, "smki")
			}
			st := openBolt(t, dir)
			err := Init(context.Background(), st, cfg, InitOptions{RootValidity: time.Hour})
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("Init with a root validity of an hour = %v, want ErrBadRequest", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "keys")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed Init left %s (%v)", filepath.Join(dir, "keys"), err)
			}
			if kmsKind == kindPKCS11 {
				out, err := exec.Command(need.Tool(t, "pkcs11-tool", "opensc"), "--module", softhsmtest.Module, "--token-label", "smki", "--login", "--pin", "1234", "--list-objects", "--type", "privkey").CombinedOutput()
				if err != nil {
					t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
				}
				if n := strings.Count(string(out), "Private Key Object"); n != 0 {
					t.Errorf("the failed Init left %d keys in the token:\n%s", n, out)
				}
			}
			if err := Init(context.Background(), st, cfg, InitOptions{}); err != nil {
				t.Fatalf("Init run again right = %v", err)
			}
		})
	}
}
