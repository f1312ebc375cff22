package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
)

// TestEnrollProfileChecked: smki enroll with a --profile no certificate
// has (a typo: "xmlsigning") is a usage error found before anything is
// sent, exit 2 naming the profiles there are, as smki csr does; it went
// to the RA and came back E_RA_INVALID_PROFILE, exit 3 (refused by
// policy). The RA here is unreachable: reaching it would fail otherwise.
func TestEnrollProfileChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"smki", "keygen", "--out", filepath.Join(dir, "sc.key")}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	csr := filepath.Join(dir, "sc.csr")
	if code := Main([]string{"smki", "csr", "--key", filepath.Join(dir, "sc.key"), "--user-id", "90-B3-D5-1F-30-05-00-00",
		"--profile", "xml-signing", "--out", csr}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	errb.Reset()
	code := Main([]string{"smki", "enroll", "--ra", "https://127.0.0.1:1", "--officer", dir, "--user-id", "90-B3-D5-1F-30-05-00-00",
		"--profile", "xmlsigning", "--csr", csr}, strings.NewReader(""), &out, &errb)
	if code != verb.ExitUsage || !strings.Contains(errb.String(), "--profile") || !strings.Contains(errb.String(), "xml-signing") {
		t.Errorf("exit %d %q, want 2 naming --profile and the profiles there are", code, errb.String())
	}
}
