package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestADTWithdraw: on the real binary, an SRP's SRO withdraws the ADT file
// that lets its SC user act for a failed Supplier's devices (docs/adt.md,
// "Withdrawing a file"). Under an approved SoLR event the SC user's SR 1.6
// is accepted with the file in force; after smki adt withdraw the next
// bundle leaves the file out and the same kind of request is E4, while
// smki adt list still shows the file with its withdrawal. A second
// withdrawal is E_RA_INACTIVE (exit 3); the failed Supplier's SRO is told
// there is no such file (E_RA_NOT_FOUND).
func TestADTWithdraw(t *testing.T) {
	t.Parallel()
	srv, data, ra := devRA(t)
	work := t.TempDir()
	approver := filepath.Join(data, "officers", "approver")
	ra.as(approver).must("officer", "renew")
	const (
		supplierA = "90-B3-D5-1F-30-00-00-0A"
		supIS     = "90-B3-D5-1F-30-01-00-00" // the originator of DCC's DUIS templates
		device    = "00-DB-12-34-56-78-90-A0" // the target of the template
	)
	sro, srpSC := srpSCAsSRO(t, ra, work)
	ra.must("party", "create", "--id", supplierA, "--name", "supplier-a")
	ra.must("user", "create", "--id", supIS, "--party", supplierA, "--role", "IS", "--name", "supplier-a-is")
	supSRO, liaison := filepath.Join(work, "supa-sro"), filepath.Join(work, "liaison")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", supplierA, "--out", supSRO)
	ra.must("officer", "add", "--id", "liaison", "--name", "Lee Ayson", "--kind", "authority-liaison", "--out", liaison)

	scKey, csr, scCert := filepath.Join(work, "sc.key"), scCSR(t, work, "sc", srpSC), filepath.Join(work, "sc.pem")
	sro.must("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", csr, "--out", scCert)
	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n"+device+","+supIS+",2\n"), 0o644)
	ra.must("devices", "import", devices)
	trust := filepath.Join(work, "trust")
	os.MkdirAll(trust, 0o755)
	_, rootPEM := srv.get(t, "/roots")
	_, issPEM := srv.get(t, "/ca/issuing.pem")
	os.WriteFile(filepath.Join(trust, "root.pem"), rootPEM, 0o644)
	os.WriteFile(filepath.Join(trust, "issuing-ca.pem"), issPEM, 0o644)

	adt := filepath.Join(work, "adt.json")
	os.WriteFile(adt, []byte(`{"format":"smki-adt/1","sc_user":"`+srpSC+`","supplier_user":"`+supIS+
		`","thresholds":[{"srv":"1.6","period":"24h","warning":100,"quarantine":1000}]}`), 0o644)
	sro.must("adt", "submit", "--file", adt)
	var declared struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	out := ra.as(liaison).must("solr", "declare", "--failed-party", supplierA, "--srp-user", srpSC, "--instruction", "OFGEM-SOLR-E2E-ADT", "--json")
	if err := json.Unmarshal([]byte(out.stdout), &declared); err != nil {
		t.Fatalf("declare output: %v\n%s", err, out.stdout)
	}
	ra.as(approver).must("solr", "approve", declared.Event.ID)

	verify := func(what, counter, want string) {
		t.Helper()
		b := filepath.Join(work, "bundle-"+counter+".json")
		ra.must("bundle", "export", "--out", b)
		req := []byte(mustRun(t, asUser(t, "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", srpSC),
			"sign", "--key", scKey, "--cert", scCert, "--counter", counter, "-").stdout)
		r := run(t, req, "verify", "--bundle", b, "--trust", trust, "-")
		var d decision
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("%s: verify output (exit %d): %v\n%s%s", what, r.code, err, r.stdout, r.stderr)
		}
		if got := map[bool]string{true: d.Decision, false: d.Code}[want == "accept"]; got != want {
			t.Fatalf("%s: %+v (exit %d), want %s", what, d, r.code, want)
		}
	}
	verify("with the ADT file in force", "5001", "accept")

	ra.as(supSRO).refused("E_RA_NOT_FOUND", "adt", "withdraw", "--sc-user", srpSC, "--supplier-user", supIS)
	if r := sro.must("adt", "withdraw", "--sc-user", srpSC, "--supplier-user", supIS, "--reason", "SRP told to stop"); !strings.Contains(r.stdout, "srp1-sro ") {
		t.Fatalf("withdraw: %q, want the row naming who withdrew it", r.stdout)
	}
	verify("after the withdrawal", "5002", "E4")
	var list []struct {
		SHA256    string `json:"sha256"`
		Withdrawn *struct {
			By     string `json:"by"`
			Reason string `json:"reason"`
		} `json:"withdrawn"`
	}
	if r := sro.must("adt", "list", "--json"); json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) != 1 || list[0].Withdrawn == nil ||
		list[0].Withdrawn.By != "srp1-sro" || list[0].Withdrawn.Reason != "SRP told to stop" || list[0].SHA256 == "" {
		t.Fatalf("adt list after the withdrawal: %s", r.stdout)
	}
	ra.refused("E_RA_INACTIVE", "adt", "withdraw", "--sc-user", srpSC, "--supplier-user", supIS)
}
