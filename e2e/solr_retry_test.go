package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSoLRNightRetries: RA staff send each step of a Supplier-failure
// night again, as they do when the first answer was lost (the client said
// E_RA_UNREACHABLE, "it may have been carried out"). Nothing is done
// twice, and each repeat says plainly what stands: a declaration names
// the open event, who declared it and where to read it; an approval or a
// close names who made it and when; `smki revoke --party --yes` sent
// again says there is nothing left to revoke, not that it revoked 0 and
// reissued the ORL.
func TestSoLRNightRetries(t *testing.T) {
	t.Parallel()
	_, data, ra := devRA(t)
	work := t.TempDir()
	approver := filepath.Join(data, "officers", "approver")
	ra.as(approver).must("officer", "renew")
	const (
		supplierA = "90-B3-D5-1F-30-00-00-0A"
		supIS     = "90-B3-D5-1F-30-01-00-00"
		supplierB = "90-B3-D5-1F-30-00-00-0B"
		supBIS    = "90-B3-D5-1F-30-02-00-00"
		srp1      = "90-B3-D5-1F-30-00-00-5C"
		srpSC     = "90-B3-D5-1F-30-05-00-00"
	)
	liaison, sroA, sroB := filepath.Join(work, "liaison"), filepath.Join(work, "sro-a"), filepath.Join(work, "sro-b")
	ra.must("officer", "add", "--id", "liaison", "--name", "Lee Ayson", "--kind", "authority-liaison", "--out", liaison)
	for _, p := range []struct{ party, name, user, sro, sroID string }{
		{supplierA, "supplier-a", supIS, sroA, "sro-a"}, {supplierB, "supplier-b", supBIS, sroB, "sro-b"},
	} {
		ra.must("party", "create", "--id", p.party, "--name", p.name)
		ra.must("user", "create", "--id", p.user, "--party", p.party, "--role", "IS", "--name", p.name+"-is")
		ra.must("officer", "add", "--id", p.sroID, "--name", "Ann "+p.sroID, "--kind", "sro", "--party", p.party, "--out", p.sro)
		key, csr := filepath.Join(work, p.name+".key"), filepath.Join(work, p.name+".csr")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", p.user, "--profile", "xml-signing", "--out", csr)
		ra.as(p.sro).must("enroll", "--user-id", p.user, "--profile", "xml-signing", "--csr", csr, "--out", filepath.Join(work, p.name+".pem"))
	}
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp1, "--role", "SC", "--name", "srp-sc")

	// refusedSaying runs a verb that must be refused with code, its
	// message saying each of says.
	refusedSaying := func(s raSession, code string, says []string, args ...string) {
		t.Helper()
		s.refused(code, args...)
		r := s.run(args...)
		for _, w := range says {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("smki %v: refusal lacks %q:\n%s", args, w, r.stderr)
			}
		}
	}

	// revoke --party --yes, sent again.
	first := ra.as(sroB).must("revoke", "--party", supplierB, "--reason", "cessationOfOperation", "--yes")
	if !strings.Contains(first.stdout, "revoked 1 certificate(s)") {
		t.Fatalf("first revocation:\n%s", first.stdout)
	}
	again := ra.as(sroB).must("revoke", "--party", supplierB, "--reason", "cessationOfOperation", "--yes")
	if !strings.Contains(again.stdout, "nothing to revoke") || strings.Contains(again.stdout, "ORL reissued") ||
		strings.Contains(again.stdout, "sequence now 0") {
		t.Errorf("revoke --party --yes sent again:\n%s", again.stdout)
	}

	// declare, approve, close, each sent again.
	declare := []string{"solr", "declare", "--failed-party", supplierA, "--srp-user", srpSC, "--instruction", "OFGEM-RETRY-1"}
	var declared struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	out := ra.as(liaison).must(append(declare, "--json")...).stdout
	if err := json.Unmarshal([]byte(out), &declared); err != nil || declared.Event.ID == "" {
		t.Fatalf("declare: %v\n%s", err, out)
	}
	id := declared.Event.ID
	refusedSaying(ra.as(liaison), "E_RA_EXISTS", []string{id, "declared by liaison", "OFGEM-RETRY-1", "smki solr show " + id}, declare...)

	ra.as(approver).must("solr", "approve", id)
	refusedSaying(ra.as(approver), "E_RA_EVENT_STATE", []string{"already approved by approver at", "nothing was done", "smki solr show " + id},
		"solr", "approve", id)

	ra.as(liaison).must("solr", "close", id, "--reason", "OFGEM-RETRY-1 ended")
	refusedSaying(ra.as(liaison), "E_RA_EVENT_STATE", []string{"already closed by liaison at", "OFGEM-RETRY-1 ended", "nothing was done"},
		"solr", "close", id, "--reason", "OFGEM-RETRY-1 ended")
	// An approval after the close says so too.
	refusedSaying(ra.as(approver), "E_RA_EVENT_STATE", []string{"already approved by approver", "closed"}, "solr", "approve", id)

	// The one revocation: supplier A's certificate revoked once.
	var events []struct {
		RevokedCount int `json:"revoked_count"`
	}
	if err := json.Unmarshal([]byte(ra.must("solr", "list", "--json").stdout), &events); err != nil || len(events) != 1 || events[0].RevokedCount != 1 {
		t.Fatalf("events after the retries: %+v %v", events, err)
	}
}
