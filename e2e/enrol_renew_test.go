package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnrolRenewGuided: an SRP's ARO renews the SC user's XML Signing
// certificate as smki enroll --help describes it. A renew or rekey
// without the certificate it replaces, or an enrol naming one, is a
// usage error (exit 2) found before anything is sent, naming --replaces
// and where to find the serial (smki certs --user). A renewal leaves the
// certificate it replaces good (the SRP's signer still uses it until the
// new one is installed), and says so on stderr with the command that
// revokes it once the new one is in place; stdout is the usual line.
func TestEnrolRenewGuided(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	ra, srpSC := srpSCAsSRO(t, ra, work)
	csr := scCSR(t, work, "sc", srpSC)
	enrol := []string{"enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", csr}
	var first struct {
		Serial string `json:"serial"`
	}
	if err := json.Unmarshal([]byte(ra.must(append(enrol, "--out", filepath.Join(work, "sc.pem"), "--json")...).stdout), &first); err != nil || first.Serial == "" {
		t.Fatalf("enrol: %v", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"renew without --replaces", []string{"--mode", "renew"}, []string{"--replaces", "smki certs --user " + srpSC}},
		{"rekey without --replaces", []string{"--mode", "rekey"}, []string{"--replaces", "smki certs --user " + srpSC}},
		{"enrol with --replaces", []string{"--replaces", first.Serial}, []string{"--replaces", "--mode renew"}},
		{"unknown mode", []string{"--mode", "renewal"}, []string{"--mode", "enrol, renew or rekey"}},
	} {
		r := ra.run(append(enrol, tc.args...)...)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2 (usage, nothing sent)\n%s%s", tc.name, r.code, r.stdout, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", tc.name, w, r.stderr)
			}
		}
	}

	r := ra.must(append(enrol, "--mode", "renew", "--replaces", first.Serial, "--out", filepath.Join(work, "sc-renewed.pem"))...)
	for _, w := range []string{first.Serial + " stays good", "smki revoke --serial " + first.Serial} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("renew: stderr does not say %q:\n%s", w, r.stderr)
		}
	}
	if !strings.HasPrefix(r.stdout, "issued xml-signing serial ") {
		t.Errorf("renew: stdout %q, want the usual 'issued ...' line", r.stdout)
	}
	if certs := ra.must("certs", "--user", srpSC, "--status", "good").stdout; !strings.Contains(certs, first.Serial) {
		t.Errorf("the renewed certificate %s is no longer good:\n%s", first.Serial, certs)
	}
}
