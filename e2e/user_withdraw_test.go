package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUserWithdraw: on the real binary, an ra-operator withdraws an SRP's
// SC User ID (docs/api.md, "Withdrawing a User ID"). smki user withdraw
// without --yes is a dry run that changes nothing; with --yes the user is
// withdrawn and its certificate revoked (privilegeWithdrawn) in one step.
// The party's own SRO may not withdraw it (E_RA_FORBIDDEN, exit 3),
// enrols nothing for it afterwards (E_RA_INACTIVE), and a second
// withdrawal is E_RA_INACTIVE.
func TestUserWithdraw(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	sro, srpSC := srpSCAsSRO(t, ra, work)
	var cert struct {
		Serial string `json:"serial"`
	}
	if err := json.Unmarshal([]byte(sro.must("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", scCSR(t, work, "sc", srpSC), "--json").stdout), &cert); err != nil {
		t.Fatal(err)
	}

	sro.refused("E_RA_FORBIDDEN", "user", "withdraw", "--id", srpSC, "--yes")
	if r := ra.must("user", "withdraw", "--id", srpSC); !strings.Contains(r.stdout, "dry run: 1 certificate(s) would be revoked (privilegeWithdrawn); add --yes") {
		t.Fatalf("dry run: %q", r.stdout)
	}
	if certs := ra.must("certs", "--user", srpSC, "--status", "good").stdout; !strings.Contains(certs, cert.Serial) {
		t.Fatalf("the dry run revoked %s:\n%s", cert.Serial, certs)
	}

	r := ra.must("user", "withdraw", "--id", srpSC, "--yes", "--json")
	var w struct {
		User struct {
			Status string `json:"status"`
		} `json:"user"`
		Revocation struct {
			DryRun       bool     `json:"dry_run"`
			Reason       int      `json:"reason"`
			RevokedCount int      `json:"revoked_count"`
			Revoked      []string `json:"revoked"`
		} `json:"revocation"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if w.User.Status != "withdrawn" || w.Revocation.DryRun || w.Revocation.Reason != 9 || w.Revocation.RevokedCount != 1 ||
		len(w.Revocation.Revoked) != 1 || w.Revocation.Revoked[0] != cert.Serial {
		t.Fatalf("withdrawal: %+v", w)
	}
	if users := ra.must("user", "list").stdout; !strings.Contains(users, "withdrawn") {
		t.Fatalf("user list after withdrawal:\n%s", users)
	}
	if certs := ra.must("certs", "--user", srpSC, "--status", "revoked").stdout; !strings.Contains(certs, cert.Serial) {
		t.Fatalf("%s is not revoked:\n%s", cert.Serial, certs)
	}
	sro.refused("E_RA_INACTIVE", "enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", scCSR(t, work, "sc2", srpSC))
	ra.refused("E_RA_INACTIVE", "user", "withdraw", "--id", srpSC, "--yes")
}
