package officercmd

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential/credentialtest"
	"github.com/smki/smki/internal/librarytext"
)

// TestRenewAnswerLost: smki officer renew sent, and the connection drops
// before the answer (the RA may have renewed: then the old credential is
// superseded and the new key is the only way back). The new key must not
// be deleted as if nothing had happened. smki asks the RA with the old
// credential: still current, nothing changed (the key is removed, renew
// again); superseded, the renewal happened (the key is kept with its
// officer.csr, and the message names the re-issue that certifies it).
// The credential directory itself is left as it was either way.
func TestRenewAnswerLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		renewed bool
		want    []string
		kept    bool
	}{
		{"the RA renewed", true, []string{"E_RA_UNREACHABLE", "renewed", "smki officer reissue --id srp1-aro --csr ", "officer.csr"}, true},
		{"the RA did not", false, []string{"E_RA_UNREACHABLE", "nothing changed", "smki officer renew"}, false},
	} {
		// One at a time: urfave/cli applies its package-level flags (help)
		// to every command it runs, so two apps running at once race.
		t.Run(tc.name, func(t *testing.T) {
			var renewed atomic.Bool
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodPost && r.URL.Path == "/v1/officers/srp1-aro/credential":
					renewed.Store(tc.renewed)
					if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
						conn.Close() // the answer never arrives
					}
				case r.URL.Path == "/v1/whoami" && renewed.Load():
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					w.Write([]byte(`{"error":{"code":"E_RA_OFFICER_INACTIVE","message":"credential superseded"}}`))
				case r.URL.Path == "/v1/whoami":
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"id":"srp1-aro","name":"Al Roe","kind":"aro","status":"active"}`))
				default:
					http.NotFound(w, r)
				}
			}))
			srv.StartTLS()
			defer srv.Close()
			base := t.TempDir()
			dir := filepath.Join(base, "srp1-aro")
			credentialtest.WriteSelfSigned(t, dir, "srp1-aro", srv.Certificate())
			before := readDir(t, dir)
			none := filepath.Join(base, "none.json")
			os.WriteFile(none, []byte("{}"), 0o644)

			var out, errb bytes.Buffer
			app := &ucli.App{Writer: &out, ErrWriter: &errb, Commands: []*ucli.Command{Command()}, ExitErrHandler: func(*ucli.Context, error) {}}
			err := app.Run([]string{"smki", "officer", "renew", "--ra", srv.URL, "--officer", dir, "--config", none})
			msg := errb.String()
			if err != nil {
				msg += err.Error()
			}
			if verb.ExitCode(err) != verb.ExitError {
				t.Errorf("exit %d, want 1: %s", verb.ExitCode(err), msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if m := librarytext.Find(msg); m != "" {
				t.Errorf("library text %q in %q", m, msg)
			}
			if after := readDir(t, dir); after != before {
				t.Errorf("the credential directory changed:\n%s\nwant\n%s", after, before)
			}
			staged, _ := filepath.Glob(filepath.Join(base, ".srp1-aro.renew-*"))
			if !tc.kept {
				if len(staged) != 0 {
					t.Errorf("staging left behind though nothing changed: %v", staged)
				}
				return
			}
			if len(staged) != 1 {
				t.Fatalf("staging directories %v, want the one holding the new key", staged)
			}
			fi, err := os.Stat(filepath.Join(staged[0], "key.pem"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("new key %v %v, want kept with mode 0600", fi, err)
			}
			if _, err := os.Stat(filepath.Join(staged[0], "officer.csr")); err != nil {
				t.Errorf("no officer.csr beside the kept key: %v", err)
			}
			if !strings.Contains(msg, staged[0]) {
				t.Errorf("%q does not say where the key is (%s)", msg, staged[0])
			}
		})
	}
}

// readDir is dir's files and contents, one line each.
func readDir(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + " " + string(data) + "\n")
	}
	return b.String()
}
