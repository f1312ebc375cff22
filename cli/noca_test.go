package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// TestNoCAYetSaysWhatToDo: a verb that needs the CA, on a data directory
// whose store holds none, says so with E_CA_NOT_INITIALISED and what to
// do next in smki's words (it said "run Init first", the name of a Go
// function).
func TestNoCAYetSaysWhatToDo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args func(dir, pp string) []string
	}{
		{"serve", func(dir, pp string) []string {
			return []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--passphrase-file", pp}
		}},
		{"ca arl", func(dir, pp string) []string {
			return []string{"ca", "arl", "--data", dir, "--passphrase-file", pp, "--out", filepath.Join(dir, "arl.crl")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pp := filepath.Join(dir, "passphrase")
			if err := os.WriteFile(pp, []byte("a passphrase long enough for the CA\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			code := Main(append([]string{"smki"}, tc.args(dir, pp)...), strings.NewReader(""), &out, &errb)
			msg := errb.String()
			if code == 0 || !strings.Contains(msg, "E_CA_NOT_INITIALISED") {
				t.Fatalf("exit %d, stderr %q: want E_CA_NOT_INITIALISED", code, msg)
			}
			if !strings.Contains(msg, "smki ca init") {
				t.Errorf("stderr %q does not say to create the CA with smki ca init", msg)
			}
			if m := librarytext.Find(msg); m != "" {
				t.Errorf("stderr holds library text %q: %q", m, msg)
			}
		})
	}
}
