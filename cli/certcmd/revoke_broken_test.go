package certcmd

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential/credentialtest"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/ra/raapi"
)

// TestRevokePartyStreamBrokenOff: `smki revoke --party P --yes` loses the
// RA part way (the RA restarted or the connection dropped after some
// progress lines, or before any answer). The revocation is one
// transaction, so it committed whole or not at all: the CLI says the
// outcome is unknown, how to see it, and that the same command sent again
// is safe (it revokes only what is still good; TestSoLRNightRetries), in
// smki's words, no raw transport text.
//
// Not parallel: urfave/cli applies its package-level help flag to every
// App it runs, and TestEnrolAnswerLost runs Apps in parallel (8cce53b).
func TestRevokePartyStreamBrokenOff(t *testing.T) {
	progressThenGone := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", raapi.MediaNDJSON)
		io.WriteString(w, `{"progress":{"done":256,"total":300}}`+"\n")
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close() // the RA is gone mid-stream
		}
	}
	goneAtOnce := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want []string
	}{
		{"after progress", progressThenGone, []string{"outcome is unknown", "smki certs --party", "send the same revocation again"}},
		{"before any answer", goneAtOnce, []string{"E_RA_UNREACHABLE", "may have been carried out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(tc.h)
			srv.StartTLS()
			defer srv.Close()
			dir := t.TempDir()
			cred := filepath.Join(dir, "officer")
			credentialtest.WriteSelfSigned(t, cred, "srp1-aro", srv.Certificate())
			if err := os.WriteFile(filepath.Join(dir, "none.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			app := &ucli.App{Writer: &out, ErrWriter: &errb, Commands: []*ucli.Command{RevokeCommand()},
				ExitErrHandler: func(*ucli.Context, error) {}}
			err := app.Run([]string{"smki", "revoke", "--ra", srv.URL, "--officer", cred, "--config", filepath.Join(dir, "none.json"),
				"--party", "90-B3-D5-1F-30-00-00-0A", "--reason", "cessationOfOperation", "--yes"})
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if verb.ExitCode(err) == 0 {
				t.Fatalf("exit 0 for a revocation whose answer broke off; output %q", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if m := librarytext.Find(msg); m != "" {
				t.Errorf("raw library text %q in %q", m, msg)
			}
		})
	}
}
