package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRevokeDryRunNextStep: an SRP's officer checks what smki revoke
// --serial would do before revoking the certificate a renewal replaced.
// The dry run names the step that revokes (the same command without
// --dry-run), not "add --yes", which for --serial changes nothing: the
// command with both flags stayed a dry run, exit 0, and the certificate
// stayed good. --dry-run with --yes contradicts itself: a usage error.
// A dry run by user still says add --yes.
func TestRevokeDryRunNextStep(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	ra, srpSC := srpSCAsSRO(t, ra, work)
	csr := scCSR(t, work, "sc", srpSC)
	var cert struct {
		Serial string `json:"serial"`
	}
	if err := json.Unmarshal([]byte(ra.must("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", csr, "--json").stdout), &cert); err != nil {
		t.Fatal(err)
	}

	r := ra.must("revoke", "--serial", cert.Serial, "--reason", "superseded", "--dry-run")
	if !strings.Contains(r.stdout, "without --dry-run") || strings.Contains(r.stdout, "add --yes") {
		t.Errorf("revoke --serial --dry-run: %q, want the step that revokes: the command without --dry-run", r.stdout)
	}
	if r := ra.run("revoke", "--serial", cert.Serial, "--reason", "superseded", "--dry-run", "--yes"); r.code != 2 || !strings.Contains(r.stderr, "--dry-run") {
		t.Errorf("revoke --dry-run --yes: exit %d, want 2 naming --dry-run\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := ra.must("revoke", "--user", srpSC, "--reason", "superseded"); !strings.Contains(r.stdout, "add --yes") {
		t.Errorf("revoke --user without --yes: %q, want 'add --yes'", r.stdout)
	}
	if certs := ra.must("certs", "--user", srpSC, "--status", "good").stdout; !strings.Contains(certs, cert.Serial) {
		t.Errorf("a dry run revoked %s:\n%s", cert.Serial, certs)
	}
}
