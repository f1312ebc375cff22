package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFinding1OnePersonCannotApprove is issue 12's finding 1 on the real
// binary: with only the bootstrap admin credential, admin appoints op2 (and
// receives its key), op2 appoints ap2 (RA-made key, or a CSR the attacker
// made), admin declares a SoLR event and ap2 approves. The approval is
// refused with E_RA_FOUR_EYES and the failed party's certificate stays good;
// the bootstrap approver approves once it has renewed with its own key.
func TestFinding1OnePersonCannotApprove(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	admin := filepath.Join(data, "officers", "admin")
	ra := raSession{t: t, url: "https://" + srv.addr, officer: admin}
	const (
		supplier = "90-B3-D5-1F-30-00-00-0A"
		supIS    = "90-B3-D5-1F-30-01-00-00"
		srp      = "90-B3-D5-1F-30-00-00-5C"
		srpSC    = "90-B3-D5-1F-30-05-00-00"
	)
	ra.must("party", "create", "--id", supplier, "--name", "supplier-a")
	ra.must("user", "create", "--id", supIS, "--party", supplier, "--role", "IS", "--name", "supplier-a-is")
	ra.must("party", "create", "--id", srp, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp, "--role", "SC", "--name", "srp-sc")

	op2, ap2, ap3 := filepath.Join(work, "op2"), filepath.Join(work, "ap2"), filepath.Join(work, "ap3")
	ra.must("officer", "add", "--kind", "ra-operator", "--id", "op2", "--name", "Op Two", "--out", op2)
	ra.as(op2).must("officer", "add", "--kind", "ra-approver", "--id", "ap2", "--name", "Ap Two", "--out", ap2)
	// The same person generates "ap3's" key and sends its CSR: no better.
	mustRun(t, nil, "officer", "keygen", "--out", ap3)
	ra.as(op2).must("officer", "add", "--kind", "ra-approver", "--id", "ap3", "--name", "Ap Three",
		"--csr", filepath.Join(ap3, "officer.csr"), "--out", ap3)

	var declared struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	out := ra.must("solr", "declare", "--failed-party", supplier, "--srp-user", srpSC, "--instruction", "OFGEM-SOLR-F1", "--json")
	if err := json.Unmarshal([]byte(out.stdout), &declared); err != nil || declared.Event.ID == "" {
		t.Fatalf("declare output: %v\n%s", err, out.stdout)
	}
	id := declared.Event.ID
	ra.as(ap2).refused("E_RA_FOUR_EYES", "solr", "approve", id)
	ra.as(ap3).refused("E_RA_FOUR_EYES", "solr", "approve", id)
	if got := ra.must("solr", "show", id).stdout; !strings.Contains(got, "declared") {
		t.Fatalf("event after the refusals:\n%s", got)
	}

	// The bootstrap approver (another line) with the key serve made: refused
	// too; renewed with a key it makes, it approves.
	approver := filepath.Join(data, "officers", "approver")
	ra.as(approver).refused("E_RA_FOUR_EYES", "solr", "approve", id)
	ra.as(approver).must("officer", "renew")
	ra.as(approver).must("solr", "approve", id)
}
