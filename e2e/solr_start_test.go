package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// solrWatch reads, through the real binary, what a SoLR event changes of
// the failed Supplier: its party status, its certificates' statuses, and
// whom an alert from one of its devices reaches in an exported bundle.
type solrWatch struct {
	t      *testing.T
	f      *solrFixture
	work   string
	trust  string
	device string // registered to the failed Supplier's IS user
}

// watchSoLR registers a device to f's failed Supplier and writes the trust
// directory `smki alert route` opens bundles against.
func watchSoLR(t *testing.T, srv *server, f *solrFixture) *solrWatch {
	t.Helper()
	w := &solrWatch{t: t, f: f, work: t.TempDir(), device: "00-DB-12-34-56-78-90-B0"}
	devices := filepath.Join(w.work, "devices.csv")
	writeFile(t, devices, "device_eui64,supplier_user_id,smets\n"+w.device+",90-B3-D5-1F-30-01-00-10,2\n")
	f.ra.must("devices", "import", devices)
	w.trust = filepath.Join(w.work, "trust")
	if err := os.MkdirAll(w.trust, 0o755); err != nil {
		t.Fatal(err)
	}
	_, root := srv.get(t, "/roots")
	_, issuing := srv.get(t, "/ca/issuing.pem")
	writeFile(t, filepath.Join(w.trust, "root.pem"), string(root))
	writeFile(t, filepath.Join(w.trust, "issuing-ca.pem"), string(issuing))
	return w
}

// partyStatus is the failed Supplier's status as `smki party list` says.
func (w *solrWatch) partyStatus() string {
	w.t.Helper()
	var parties []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	out := w.f.ra.must("party", "list", "--json")
	if err := json.Unmarshal([]byte(out.stdout), &parties); err != nil {
		w.t.Fatalf("party list: %v\n%s", err, out.stdout)
	}
	for _, p := range parties {
		if p.ID == w.f.supplier {
			return p.Status
		}
	}
	w.t.Fatalf("party list has no %s:\n%s", w.f.supplier, out.stdout)
	return ""
}

// certStatuses is the distinct statuses of the failed Supplier's certificates.
func (w *solrWatch) certStatuses() []string {
	w.t.Helper()
	var certs []struct {
		Status string `json:"status"`
	}
	out := w.f.ra.must("certs", "--party", w.f.supplier, "--json")
	if err := json.Unmarshal([]byte(out.stdout), &certs); err != nil || len(certs) != len(w.f.serials) {
		w.t.Fatalf("supplier certificates: %v\n%s", err, out.stdout)
	}
	var st []string
	for _, c := range certs {
		if !slices.Contains(st, c.Status) {
			st = append(st, c.Status)
		}
	}
	slices.Sort(st)
	return st
}

// bundle exports the RA's current bundle to a file and returns its path.
func (w *solrWatch) bundle(name string) string {
	w.t.Helper()
	out := filepath.Join(w.work, name+".json")
	w.f.ra.must("bundle", "export", "--out", out)
	return out
}

// routesToSRP says whether, in bundle, an alert from the watched device at
// `at` reaches the SRP's SC user (the SRP acts for the device).
func (w *solrWatch) routesToSRP(bundle string, at time.Time) bool {
	w.t.Helper()
	var routed struct {
		Recipients []string `json:"recipients"`
	}
	r := mustRun(w.t, nil, "alert", "route", "--bundle", bundle, "--trust", w.trust, "--device", w.device,
		"--code", "0x8F0A", "--at", at.UTC().Format(time.RFC3339), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &routed); err != nil {
		w.t.Fatalf("alert route: %v\n%s", err, r.stdout)
	}
	return slices.Equal(routed.Recipients, []string{w.f.srpSC})
}

// declare has the liaison declare an event for the fixture's failed
// Supplier with the flags given and returns the event's ID.
func (w *solrWatch) declare(instruction string, flags ...string) string {
	id, _ := w.declareDryRun(instruction, flags...)
	return id
}

// declareDryRun is declare, also returning the dry run's certificates_sha256.
func (w *solrWatch) declareDryRun(instruction string, flags ...string) (id, certificatesSHA256 string) {
	w.t.Helper()
	var declared struct {
		Event struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"event"`
		DryRun struct {
			CertificatesSHA256 string `json:"certificates_sha256"`
		} `json:"dry_run"`
	}
	args := append([]string{"solr", "declare", "--failed-party", w.f.supplier, "--srp-user", w.f.srpSC,
		"--instruction", instruction, "--json"}, flags...)
	out := w.f.ra.as(w.f.liaison).must(args...)
	if err := json.Unmarshal([]byte(out.stdout), &declared); err != nil || declared.Event.State != "declared" {
		w.t.Fatalf("declare: %v\n%s", err, out.stdout)
	}
	return declared.Event.ID, declared.DryRun.CertificatesSHA256
}

// approve has the approver approve id (with the flags given) and returns
// the event's state.
func (w *solrWatch) approve(id string, flags ...string) string {
	w.t.Helper()
	var approved struct {
		Event struct {
			State string `json:"state"`
		} `json:"event"`
	}
	out := w.f.ra.as(w.f.approver).must(append([]string{"solr", "approve", id, "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out.stdout), &approved); err != nil {
		w.t.Fatalf("approve: %v\n%s", err, out.stdout)
	}
	return approved.Event.State
}

// TestSoLRApprovalBeforeStart is docs/api.md, SoLR events step 2 ("An
// approval before the event's start") on the real binary and server, on
// the wall clock: an event approved before its start leaves the failed
// Supplier as it is until the start (certificates good, party active, the
// SRP not yet acting for its devices); at the start the scheduler fails
// the party and revokes. An event closed before its start changes nothing,
// even once its start has passed.
func TestSoLRApprovalBeforeStart(t *testing.T) {
	t.Parallel()
	requirement(t, "L4")
	srv, data, _ := devRA(t)
	f := newSoLRFixture(t, srv, data)
	w := watchSoLR(t, srv, f)
	// Each start is far enough ahead for the calls before it to finish on
	// this machine, however loaded (as TestSoLRLifecycle's margin).
	margin := max(3*time.Second, 12*f.slowestCall)
	ahead := func(d time.Duration) time.Time { return time.Now().Add(d).UTC().Truncate(time.Second).Add(time.Second) }
	// before fails the test unless the checks just made finished before
	// `at`: an answer after it proves nothing.
	before := func(at time.Time, what string) {
		t.Helper()
		if !time.Now().Before(at) {
			t.Fatalf("%s finished after %s: the machine is too slow for the margin %v", what, at.Format(time.RFC3339), margin)
		}
	}
	unchanged := func(what string) {
		t.Helper()
		if st := w.partyStatus(); st != "active" {
			t.Fatalf("%s: party %s, want active", what, st)
		}
		if st := w.certStatuses(); !slices.Equal(st, []string{"good"}) {
			t.Fatalf("%s: certificates %v, want all good", what, st)
		}
	}

	// Closed before its start: nothing changes, then or after the start.
	startA := ahead(margin)
	a := w.declare("OFGEM-SOLR-E2E-WITHDRAWN", "--start", startA.Format(time.RFC3339))
	if st := w.approve(a); st != "approved" {
		t.Fatalf("approved before its start: %s, want approved", st)
	}
	f.ra.as(f.liaison).must("solr", "close", a, "--reason", "instruction withdrawn")
	unchanged("closed before its start")
	before(startA, "the close")

	// Approved before its start: nothing changes until it.
	startB := ahead(2*margin + 2*time.Second)
	b := w.declare("OFGEM-SOLR-E2E-LATER", "--start", startB.Format(time.RFC3339))
	if st := w.approve(b); st != "approved" {
		t.Fatalf("approved before its start: %s, want approved", st)
	}
	unchanged("approved before its start")
	exported := w.bundle("before-start")
	if w.routesToSRP(exported, time.Now()) {
		t.Fatal("before the start the SRP already acts for the failed Supplier's device")
	}
	if !w.routesToSRP(exported, startB) {
		t.Fatal("the bundle does not authorise the SRP from the start")
	}
	before(startB, "the checks after approval")

	// A's start has passed (and the scheduler, every second, has run):
	// still nothing of A.
	time.Sleep(time.Until(startA.Add(1500 * time.Millisecond)))
	unchanged("after a closed event's start")
	before(startB, "the checks after the closed event's start")

	// At B's start the scheduler fails the party and revokes.
	deadline := startB.Add(margin + 20*time.Second)
	time.Sleep(time.Until(startB))
	for !slices.Equal(w.certStatuses(), []string{"revoked"}) {
		if time.Now().After(deadline) {
			t.Fatalf("certificates %v at %s, want all revoked from the start %s", w.certStatuses(), time.Now().UTC().Format(time.RFC3339), startB.Format(time.RFC3339))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := w.partyStatus(); st != "failed" {
		t.Fatalf("party after the start: %s, want failed", st)
	}
	var shown struct {
		Event struct {
			State string `json:"state"`
		} `json:"event"`
	}
	if out := f.ra.must("solr", "show", b, "--json"); json.Unmarshal([]byte(out.stdout), &shown) != nil || shown.Event.State != "active" {
		t.Fatalf("event after its start: %s", out.stdout)
	}
	if !w.routesToSRP(w.bundle("after-start"), time.Now()) {
		t.Fatal("after the start the SRP does not act for the failed Supplier's device")
	}
}

// TestSoLRSuccessorEvent is docs/api.md, "Successor events", on the real
// binary and server: with an approved event open until END, a declaration
// starting before END is E_RA_EXISTS and says the --start to use; one
// starting at END is accepted and approved by a second person (naming
// the dry run smki solr show printed; a stale one is
// E_RA_DRY_RUN_CHANGED), and the
// exported bundle has the SRP act for the failed Supplier's device before,
// at and after END without a gap.
func TestSoLRSuccessorEvent(t *testing.T) {
	t.Parallel()
	requirement(t, "L4")
	srv, data, _ := devRA(t)
	f := newSoLRFixture(t, srv, data)
	w := watchSoLR(t, srv, f)
	end1 := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	end2 := end1.Add(time.Hour)
	first, firstDry := w.declareDryRun("OFGEM-SOLR-E2E-FIRST", "--end", end1.Format(time.RFC3339))
	if firstDry == "" {
		t.Fatal("the declaration's dry run has no certificates_sha256")
	}
	if st := w.approve(first, "--certificates-sha256", firstDry); st != "active" {
		t.Fatalf("first event approved: %s, want active", st)
	}

	overlap := end1.Add(-time.Minute).Format(time.RFC3339)
	args := []string{"solr", "declare", "--failed-party", f.supplier, "--srp-user", f.srpSC,
		"--instruction", "OFGEM-SOLR-E2E-NEXT", "--start", overlap, "--end", end2.Format(time.RFC3339)}
	f.ra.as(f.liaison).refused("E_RA_EXISTS", args...)
	if r := f.ra.as(f.liaison).run(args...); !strings.Contains(r.stderr, "--start "+end1.Format(time.RFC3339)) {
		t.Fatalf("an overlapping declaration's refusal does not give the --start to use (%s):\n%s", end1.Format(time.RFC3339), r.stderr)
	}

	next := w.declare("OFGEM-SOLR-E2E-NEXT", "--start", end1.Format(time.RFC3339), "--end", end2.Format(time.RFC3339))
	// The approver approves the dry run it reads, as smki solr show
	// prints it: the first event's, made before its revocation, names
	// certificates that are no longer good and is refused.
	shown := f.ra.as(f.approver).must("solr", "show", next).stdout
	_, after, ok := strings.Cut(shown, "smki solr approve "+next+" --certificates-sha256 ")
	digest, _, _ := strings.Cut(after, "\n")
	if !ok || digest == "" || digest == firstDry {
		t.Fatalf("smki solr show does not print how to approve the dry run shown:\n%s", shown)
	}
	f.ra.as(f.approver).refused("E_RA_DRY_RUN_CHANGED", "solr", "approve", next, "--certificates-sha256", firstDry)
	if st := w.approve(next, "--certificates-sha256", digest); st != "approved" {
		t.Fatalf("successor approved before its start: %s, want approved", st)
	}
	exported := w.bundle("successor")
	// --at is to the second: a second on from now is within the first event.
	for _, at := range []time.Time{time.Now().Add(time.Second), end1.Add(-time.Second), end1, end1.Add(time.Second), end2.Add(-time.Second)} {
		if !w.routesToSRP(exported, at) {
			t.Fatalf("at %s the SRP does not act for the failed Supplier's device: a gap in the contingency", at.Format(time.RFC3339))
		}
	}
	if w.routesToSRP(exported, end2) {
		t.Fatalf("at the successor's end %s the SRP still acts for the device", end2.Format(time.RFC3339))
	}
}
