package e2e

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
)

// TestSoLRLifecycle is the SoLR workflow (docs/api.md, "SoLR events") on the real binary and a real
// server, on the wall clock: parties and enrolled users, a device registry,
// an event declared by an authority-liaison with a scheduled revocation,
// four-eyes refusals, approval, the scheduler revoking the failed Supplier
// on time, a signed ADT file, an exported bundle that verifiers open
// against the SMKI root, an SC request accepted under it, an alert routed
// to the SRP, and default deny (E4) once the event is closed.
func TestSoLRLifecycle(t *testing.T) {
	t.Parallel()
	requirement(t, "R3", "R4", "R6", "R7", "L4", "L7")
	srv, data, ra := devRA(t)
	work := t.TempDir()
	approver := filepath.Join(data, "officers", "approver")
	// An RA-made key does not approve SoLR events: the approver renews
	// with a key it makes (issue 12, finding 1).
	ra.as(approver).must("officer", "renew")

	const (
		supplierA = "90-B3-D5-1F-30-00-00-0A"
		supIS     = "90-B3-D5-1F-30-01-00-00" // the originator of DCC's DUIS templates
		srp1      = "90-B3-D5-1F-30-00-00-5C"
		srpSC     = "90-B3-D5-1F-30-05-00-00"
		device    = "00-DB-12-34-56-78-90-A0" // the target of the template
	)
	ra.must("party", "create", "--id", supplierA, "--name", "supplier-a")
	ra.must("user", "create", "--id", supIS, "--party", supplierA, "--role", "IS", "--name", "supplier-a-is")
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp1, "--role", "SC", "--name", "srp-sc")
	supSRO, srpSRO, srpARO, liaison := filepath.Join(work, "supa-sro"), filepath.Join(work, "srp1-sro"),
		filepath.Join(work, "srp1-aro"), filepath.Join(work, "liaison")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", supplierA, "--out", supSRO)
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1, "--out", srpSRO)
	ra.as(srpSRO).must("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", srp1, "--out", srpARO)
	ra.must("officer", "add", "--id", "liaison", "--name", "Lee Ayson", "--kind", "authority-liaison", "--out", liaison)

	enrol := func(officer, user, name string) (key, cert string) {
		key, csr, cert := filepath.Join(work, name+".key"), filepath.Join(work, name+".csr"), filepath.Join(work, name+".pem")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		ra.as(officer).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
		return key, cert
	}
	enrol(supSRO, supIS, "supa-xml")
	scKey, scCert := enrol(srpARO, srpSC, "sc-xml")

	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n"+device+","+supIS+",2\n00-DB-12-34-56-78-90-A1,"+supIS+",1\n"), 0o644)
	trust := filepath.Join(work, "trust")
	os.MkdirAll(trust, 0o755)
	_, rootPEM := srv.get(t, "/roots")
	_, issPEM := srv.get(t, "/ca/issuing.pem")
	os.WriteFile(filepath.Join(trust, "root.pem"), rootPEM, 0o644)
	os.WriteFile(filepath.Join(trust, "issuing-ca.pem"), issPEM, 0o644)
	sign := func(counter string) []byte {
		return []byte(mustRun(t, asUser(t, "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", srpSC),
			"sign", "--key", scKey, "--cert", scCert, "--counter", counter, "-").stdout)
	}
	verify := func(bundle string, req []byte) (decision, int) {
		r := run(t, req, "verify", "--bundle", bundle, "--trust", trust, "-")
		var d decision
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("verify output (exit %d): %v\n%s%s", r.code, err, r.stdout, r.stderr)
		}
		return d, r.code
	}
	// Default deny (R6): before any event, the SC user's request to
	// Credit is refused E4.
	noEvent := filepath.Join(work, "no-event.json")
	ra.must("bundle", "export", "--out", noEvent)
	if d, code := verify(noEvent, sign("4001")); code != 3 || d.Code != "E4" {
		t.Fatalf("SC request before any SoLR event: exit %d %+v, want E4", code, d)
	}

	callStart := time.Now()
	ra.as(srpARO).refused("E_RA_FORBIDDEN", "devices", "import", devices)
	ra.must("devices", "import", devices)
	perCall := time.Since(callStart) / 2

	// The liaison declares; the revocation is scheduled far enough out for
	// the eight calls up to the before-check to finish first on this
	// machine, as fast or slow as its last calls were: a fixed margin
	// either wastes time or, on a loaded machine, lets approval happen
	// after revoke-at, which revokes at once and skips the scheduler.
	margin := max(3*time.Second, 15*perCall)
	revokeAt := time.Now().Add(margin).UTC().Truncate(time.Second).Add(time.Second)
	var declared struct {
		Event struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"event"`
		DryRun struct {
			Certificates []json.RawMessage `json:"certificates"`
			Devices      []json.RawMessage `json:"devices"`
		} `json:"dry_run"`
	}
	out := ra.as(liaison).must("solr", "declare", "--failed-party", supplierA, "--srp-user", srpSC,
		"--instruction", "OFGEM-SOLR-E2E-1", "--revoke-at", revokeAt.Format(time.RFC3339), "--json")
	if err := json.Unmarshal([]byte(out.stdout), &declared); err != nil {
		t.Fatalf("declare output: %v\n%s", err, out.stdout)
	}
	id := declared.Event.ID
	if declared.Event.State != "declared" || len(declared.DryRun.Certificates) != 1 || len(declared.DryRun.Devices) != 2 {
		t.Fatalf("declared: %s", out.stdout)
	}
	// Declared on the Authority's instruction but not yet approved: still E4.
	declaredOnly := filepath.Join(work, "declared.json")
	ra.must("bundle", "export", "--out", declaredOnly)
	if d, code := verify(declaredOnly, sign("4002")); code != 3 || d.Code != "E4" {
		t.Fatalf("SC request under a declared, unapproved event: exit %d %+v, want E4", code, d)
	}
	// Four-eyes: the declarer may not approve; an operator is no approver.
	ra.as(liaison).refused("E_RA_FOUR_EYES", "solr", "approve", id)
	ra.refused("E_RA_FORBIDDEN", "solr", "approve", id)
	var approved struct {
		Event struct {
			JobID string `json:"job_id"`
		} `json:"event"`
	}
	if r := ra.as(approver).must("solr", "approve", id, "--json"); json.Unmarshal([]byte(r.stdout), &approved) != nil || approved.Event.JobID == "" {
		t.Fatalf("approval did not schedule the revocation (revoke-at %s, margin %v from %v per call): %s",
			revokeAt.Format(time.RFC3339), margin, perCall, r.stdout)
	}

	type certStatus struct {
		Status    string     `json:"status"`
		RevokedAt *time.Time `json:"revoked_at"`
	}
	status := func() certStatus {
		r := ra.must("certs", "--party", supplierA, "--json")
		var cs []certStatus
		if err := json.Unmarshal([]byte(r.stdout), &cs); err != nil || len(cs) != 1 {
			t.Fatalf("supplier-a certificates: %v %s", err, r.stdout)
		}
		return cs[0]
	}
	// Only an answer that completed before revoke-at proves anything: the
	// scheduler may fire while the CLI call is on its way.
	if s := status(); s.Status != "good" && time.Now().Before(revokeAt) {
		t.Fatalf("before the revocation time supplier-a's certificate is %s", s.Status)
	}
	// Whatever this machine's speed, the revocation time the RA records
	// must not be before revoke-at.
	deadline := time.Now().Add(margin + 20*time.Second)
	var revoked certStatus
	for revoked = status(); revoked.Status != "revoked"; revoked = status() {
		if time.Now().After(deadline) {
			t.Fatalf("supplier-a's certificate not revoked by %s (revoke-at %s)", deadline.Format(time.RFC3339), revokeAt.Format(time.RFC3339))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if revoked.RevokedAt == nil || revoked.RevokedAt.Before(revokeAt) {
		t.Fatalf("revoked at %v, before revoke-at %s", revoked.RevokedAt, revokeAt.Format(time.RFC3339))
	}

	// The SRP's ARO submits a signed ADT file; a forged one is refused.
	adt := filepath.Join(work, "adt.json")
	os.WriteFile(adt, []byte(`{"format":"smki-adt/1","sc_user":"`+srpSC+`","supplier_user":"`+supIS+
		`","thresholds":[{"srv":"1.6","period":"24h","warning":100,"quarantine":1000}]}`), 0o644)
	// The supplier's SRO is told the SRP's SC user is not there (finding 7).
	ra.as(supSRO).refused("E_RA_NOT_FOUND", "adt", "submit", "--file", adt)
	ra.as(srpARO).must("adt", "submit", "--file", adt)

	// Export the bundle; it opens against the SMKI root.
	exported := filepath.Join(work, "exported.json")
	ra.must("bundle", "export", "--out", exported)
	raw, _ := os.ReadFile(exported)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no root from /roots")
	}
	b, err := bundle.Open(raw, pool, time.Now())
	if err != nil {
		t.Fatalf("exported bundle: %v", err)
	}
	if len(b.SoLREvents) != 1 || b.SoLREvents[0].State != "active" || len(b.Revoked) != 1 || len(b.ADT) != 1 {
		t.Fatalf("bundle events %+v revoked %d adt %d", b.SoLREvents, len(b.Revoked), len(b.ADT))
	}

	// An SC request to a device of the failed Supplier is accepted.
	if d, code := verify(exported, sign("5001")); code != 0 || d.Decision != "accept" {
		t.Fatalf("SC request under the active event: exit %d %+v", code, d)
	}

	// SMETS2+: the same SR 1.6 as Command Variant 5, the change carried by
	// the Supplier-signed GBCS pre-command (DCC's ECS02/ECS03 vectors,
	// addressed to device, registered above as SMETS2). To Credit is
	// accepted, to Prepayment refused, by `smki verify` and by the sidecar.
	t.Run("SMETS2+ pre-command", func(t *testing.T) {
		requirement(t, "R5")
		cv5 := func(template, vector, counter string) []byte {
			req := preCommand(t, asUser(t, template, srpSC), vector)
			return []byte(mustRun(t, req, "sign", "--key", scKey, "--cert", scCert, "--counter", counter, "-").stdout)
		}
		toCredit := func(counter string) []byte {
			return cv5("ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "1.6_ECS02/ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX", counter)
		}
		toPrepay := func(counter string) []byte {
			return cv5("ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML", "1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX", counter)
		}
		if d, code := verify(exported, toCredit("5101")); code != 0 || d.Decision != "accept" || d.Route != device {
			t.Errorf("smki verify, CV 5 to Credit: exit %d %+v, want accept routed to %s", code, d, device)
		}
		if d, code := verify(exported, toPrepay("5102")); code != 3 || d.Code != "E2" {
			t.Errorf("smki verify, CV 5 to Prepayment: exit %d %+v, want E2", code, d)
		}
		addr := startSidecar(t, "--bundle", exported, "--trust", trust)
		if d := postVerify(t, addr, toCredit("5103")); d.Decision != "accept" || d.Route != device {
			t.Errorf("sidecar, CV 5 to Credit: %+v, want accept routed to %s", d, device)
		}
		if d := postVerify(t, addr, toPrepay("5104")); d.Decision != "reject" || d.Code != "E2" {
			t.Errorf("sidecar, CV 5 to Prepayment: %+v, want E2", d)
		}
	})

	// Alerts from the failed Supplier's device reach the SRP (R7).
	var routed struct {
		Recipients []string `json:"recipients"`
		Reason     string   `json:"reason"`
	}
	r := mustRun(t, nil, "alert", "route", "--bundle", exported, "--trust", trust, "--device", device, "--code", "0x8F0A", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &routed); err != nil || !slices.Equal(routed.Recipients, []string{srpSC}) {
		t.Fatalf("alert route: %v %s", err, r.stdout)
	}

	// Closing the event restores default deny: E4 for the same kind of request.
	ra.as(liaison).must("solr", "close", id, "--reason", "OFGEM-SOLR-E2E-1 ended")
	closed := filepath.Join(work, "closed.json")
	ra.as(approver).must("bundle", "export", "--out", closed)
	if d, code := verify(closed, sign("5002")); code != 3 || d.Code != "E4" {
		t.Fatalf("SC request after close: exit %d %+v", code, d)
	}
	if !strings.Contains(ra.must("solr", "list").stdout, "closed") {
		t.Fatal("solr list does not show the closed event")
	}
}
