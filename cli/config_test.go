package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/librarytext"
)

// TestClientConfigFile: the client config file (--config, $SMKI_CONFIG)
// is read strictly and told in smki's words: a misspelt key ("ra_url")
// is named, not ignored until "no RA URL" says nothing about the file; a
// syntax error is not encoding/json's text; a missing file is said so.
// A --csr file that is not there is told the same way (officer add).
func TestClientConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := write("typo.json", `{"ra_url": "https://ra.example:8443", "officer": "./srp1-aro"}`)
	broken := write("broken.json", `{"ra": "https://ra.example:8443", officer: "x"}`)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"misspelt key", []string{"certs", "--config", typo}, []string{typo, "ra_url"}},
		{"not JSON", []string{"certs", "--config", broken}, []string{broken}},
		{"no such config", []string{"certs", "--config", filepath.Join(dir, "none.json")}, []string{"none.json", "no such file"}},
		{"no such CSR", []string{"officer", "add", "--ra", "https://127.0.0.1:1", "--officer", dir, "--id", "x", "--name", "x",
			"--kind", "aro", "--csr", filepath.Join(dir, "none.csr"), "--out", filepath.Join(dir, "out")}, []string{"none.csr", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(append([]string{"smki"}, tc.args...), strings.NewReader(""), &out, &errb)
			if code != verb.ExitUsage {
				t.Errorf("exit %d, want 2: %s", code, errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("%q does not say %q", errb.String(), w)
				}
			}
			if m := librarytext.Find(errb.String()); m != "" {
				t.Errorf("library text %q in %q", m, errb.String())
			}
		})
	}
}
