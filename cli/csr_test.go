package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
)

// TestCSRNotEligible: smki csr for a profile the User Role may not hold
// (SC and Digital Signing: MP134B R2) refuses before any CSR is made,
// with the RA's code and the exit status the RA's own refusal of it
// gets from smki enroll (3, refused by policy: a script must not take it
// for a failure worth retrying), and says which profiles the role may
// hold, so the SRP knows to ask for xml-signing. Nothing is written.
func TestCSRNotEligible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "sc.key")
	var out, errb bytes.Buffer
	if code := Main([]string{"smki", "keygen", "--out", key}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("keygen: exit %d %s", code, errb.String())
	}
	for _, tc := range []struct {
		role, profile, want string
	}{
		{"SC", "digital-signing", "User Role SC may hold xml-signing only"},
		{"SC", "key-agreement", "User Role SC may hold xml-signing only"},
		{"OU", "digital-signing", "User Role OU may hold xml-signing, key-agreement only"},
	} {
		t.Run(tc.role+" "+tc.profile, func(t *testing.T) {
			t.Parallel()
			csr := filepath.Join(dir, tc.role+"-"+tc.profile+".csr")
			var out, errb bytes.Buffer
			code := Main([]string{"smki", "csr", "--key", key, "--user-id", "90-B3-D5-1F-30-05-00-00", "--role", tc.role,
				"--profile", tc.profile, "--out", csr}, strings.NewReader(""), &out, &errb)
			if code != verb.ExitReject || !strings.Contains(errb.String(), "E_RA_NOT_ELIGIBLE") || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d with E_RA_NOT_ELIGIBLE and %q", code, errb.String(), verb.ExitReject, tc.want)
			}
			if _, err := os.Stat(csr); !os.IsNotExist(err) {
				t.Errorf("a CSR was written to %s (%v)", csr, err)
			}
		})
	}
}
