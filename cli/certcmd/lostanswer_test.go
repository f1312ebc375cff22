package certcmd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/credential/credentialtest"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
)

// TestEnrolAnswerLost: the connection drops after the enrolment was sent
// (the RA may have issued), or nothing listens at --ra. smki enroll exits
// 1 with smki's own sentence, no raw net/TLS text, and for a request that
// may have arrived it says to send the same command again (which then
// hands over a certificate already issued: TestEnrolResentAfterLostAnswer).
func TestEnrolAnswerLost(t *testing.T) {
	t.Parallel()
	dropped := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack() // the RA issued; its answer never arrives
		if err == nil {
			conn.Close()
		}
	}))
	dropped.StartTLS()
	defer dropped.Close()
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	dir := t.TempDir()
	cred := filepath.Join(dir, "officer")
	credentialtest.WriteSelfSigned(t, cred, "srp1-aro", dropped.Certificate())
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	uid := eui64.MustParse("90-B3-D5-1F-30-05-00-00")
	csr, err := ra.NewCSR(key, uid, role.OtherUser, ca.XMLSigning, "")
	if err != nil {
		t.Fatal(err)
	}
	// An empty config file: the user's own ~/.config/smki is not read.
	if err := os.WriteFile(filepath.Join(dir, "none.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	csrFile := filepath.Join(dir, "sc.csr")
	if err := os.WriteFile(csrFile, csr, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		want      string
	}{
		{"answer lost", dropped.URL, "run the same command again"},
		{"nothing listening", closedURL, "E_RA_UNREACHABLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			app := &ucli.App{Writer: &out, ErrWriter: &errb, Commands: []*ucli.Command{EnrollCommand()},
				ExitErrHandler: func(*ucli.Context, error) {}}
			err := app.Run([]string{"smki", "enroll", "--ra", tc.url, "--officer", cred, "--config", filepath.Join(dir, "none.json"),
				"--user-id", uid.String(), "--profile", "xml-signing", "--csr", csrFile})
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if code := verb.ExitCode(err); code != verb.ExitError || !strings.Contains(msg, "E_RA_UNREACHABLE") || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, error %q; want exit 1, E_RA_UNREACHABLE and %q", code, msg, tc.want)
			}
			if m := librarytext.Find(msg); m != "" || strings.Contains(msg, "Post \"") {
				t.Errorf("raw library text %q in %q", m, msg)
			}
		})
	}
}
