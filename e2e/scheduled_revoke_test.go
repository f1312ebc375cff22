package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/store"
)

// Record kinds and the audit action of ra's scheduled revocation (see
// ra/solr_records.go, ra/authz.go, ra/scheduler.go); the test reads them
// from the store as an auditor would.
const (
	solrRecEvent       = "solr-event"
	solrRecJobs        = "schedule"
	solrRecJobLog      = "schedule-log"
	solrActRevoke      = "solr.revoke"
	solrSchedulerActor = "system:scheduler"
)

// TestScheduledRevocation proves on real processes that a SoLR revocation
// scheduled at approval is persisted, survives a SIGKILL of the process
// that accepted it, and runs exactly once when its time comes: on bbolt by
// the same data directory's next process (restarted after the due time,
// so the job was missed while nothing ran), on PostgreSQL by the standby
// instance that takes the scheduler lock from the killed leader. Each half
// then audits the store: every certificate of the failed party revoked
// once with cessationOfOperation in consecutive revocation sequence
// numbers, one revocation audit record by the scheduler, the event active,
// the job logged done, the audit chain intact, and the served ORL listing
// every serial with that reason.
func TestScheduledRevocation(t *testing.T) {
	t.Parallel()
	requirement(t, "L4")
	t.Run("bbolt-restart", func(t *testing.T) {
		t.Parallel()
		data := filepath.Join(t.TempDir(), "data")
		eng := boltEngine(data)
		srv := eng.serve(t, data)
		f := newSoLRFixture(t, srv, data)
		ev := f.declareAndApprove(t)
		killBefore(t, srv, ev.revokeAt)

		// Nothing runs now, so the store can be read without a race: the
		// job must be there, pending, and nothing revoked yet.
		st := eng.open(t)
		p := readPending(t, st, f, ev.id)
		st.Close()
		p.check(t)

		// Restart only once the job is overdue: the new process must find
		// the work it missed, not merely hold a timer it set itself.
		time.Sleep(time.Until(ev.revokeAt))
		srv = eng.serve(t, data)
		orl := waitORL(t, srv, f.serials)
		srv.stop()
		verifyAuditCLI(t, eng)
		st = eng.open(t)
		defer st.Close()
		checkScheduledRevocation(t, st, f, ev, orl)
	})
	t.Run("postgres-takeover", func(t *testing.T) {
		t.Parallel()
		eng := pgEngine(t)
		dataA := filepath.Join(t.TempDir(), "a")
		a := eng.serve(t, dataA)
		// The second instance shares the keys, access CA and officer
		// credentials (docs/operations.md), as TestTwoInstancesOnPostgres.
		dataB := filepath.Join(t.TempDir(), "b")
		if r := runCmd(t, nil, "cp", "-a", dataA, dataB); r.code != 0 {
			t.Fatalf("copying the data directory: %s", r.stderr)
		}
		b := eng.serve(t, dataB)
		leader, standby := waitLeader(t, a, b)

		// Approve through the leader, the instance whose scheduler holds
		// the job's future, then kill it before the job is due.
		data := dataA
		if leader == b {
			data = dataB
		}
		f := newSoLRFixture(t, leader, data)
		ev := f.declareAndApprove(t)
		killBefore(t, leader, ev.revokeAt)

		st := eng.open(t)
		defer st.Close()
		// The standby may run the job from revoke-at on, so only a
		// reading that completed before then shows the pending state.
		if p := readPending(t, st, f, ev.id); time.Now().Before(ev.revokeAt) {
			p.check(t)
		} else {
			t.Log("reading the store outran revoke-at; skipping the pending check")
		}

		orl := waitORL(t, standby, f.serials)
		if s := standby.schedulerState(); s != "leader" {
			t.Errorf("the surviving instance revoked but reports scheduler %q", s)
		}
		standby.stop()
		verifyAuditCLI(t, eng)
		checkScheduledRevocation(t, st, f, ev, orl)
	})
}

// solrFixture is a failed Supplier to be: a supplier party with three
// supplier users, each holding an xml-signing certificate enrolled by the
// party's SRO or ARO, an SRP party with an SC user, an authority-liaison
// to declare and the bootstrap ra-approver to approve.
type solrFixture struct {
	ra       raSession
	supplier string
	srpSC    string
	liaison  string // credential directories
	approver string
	serials  []string // the supplier's certificates, sorted
	// slowestCall is the slowest enrolment round trip, a measure of how
	// loaded the machine is, from which the revoke-at margin is derived.
	slowestCall time.Duration
}

func newSoLRFixture(t *testing.T, srv *server, data string) *solrFixture {
	t.Helper()
	const (
		supplier = "90-B3-D5-1F-30-00-00-0B"
		srp      = "90-B3-D5-1F-30-00-00-5D"
		srpSC    = "90-B3-D5-1F-30-05-00-01"
	)
	work := t.TempDir()
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	f := &solrFixture{ra: ra, supplier: supplier, srpSC: srpSC,
		liaison: filepath.Join(work, "liaison"), approver: filepath.Join(data, "officers", "approver")}
	ra.as(f.approver).must("officer", "renew") // an RA-made key does not approve (issue 12, finding 1)
	users := []struct{ id, role, name string }{
		{"90-B3-D5-1F-30-01-00-10", "IS", "supplier-b-is"},
		{"90-B3-D5-1F-30-01-00-11", "ES", "supplier-b-es"},
		{"90-B3-D5-1F-30-01-00-12", "GS", "supplier-b-gs"},
	}
	ra.must("party", "create", "--id", supplier, "--name", "supplier-b")
	for _, u := range users {
		ra.must("user", "create", "--id", u.id, "--party", supplier, "--role", u.role, "--name", u.name)
	}
	ra.must("party", "create", "--id", srp, "--name", "srp-2")
	ra.must("user", "create", "--id", srpSC, "--party", srp, "--role", "SC", "--name", "srp-2-sc")
	sro, aro := filepath.Join(work, "supb-sro"), filepath.Join(work, "supb-aro")
	ra.must("officer", "add", "--id", "supb-sro", "--name", "Ann Bee", "--kind", "sro", "--party", supplier, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supb-aro", "--name", "Al Bee", "--kind", "aro", "--party", supplier, "--out", aro)
	ra.must("officer", "add", "--id", "liaison", "--name", "Lee Ayson", "--kind", "authority-liaison", "--out", f.liaison)

	for i, u := range users {
		officer := sro
		if i > 0 {
			officer = aro
		}
		key, csr, cert := filepath.Join(work, u.name+".key"), filepath.Join(work, u.name+".csr"), filepath.Join(work, u.name+".pem")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", u.id, "--profile", "xml-signing", "--out", csr)
		start := time.Now()
		ra.as(officer).must("enroll", "--user-id", u.id, "--profile", "xml-signing", "--csr", csr, "--out", cert)
		f.slowestCall = max(f.slowestCall, time.Since(start))
	}
	var certs []struct {
		Serial string `json:"serial"`
		Status string `json:"status"`
	}
	out := ra.must("certs", "--party", supplier, "--json")
	if err := json.Unmarshal([]byte(out.stdout), &certs); err != nil || len(certs) != len(users) {
		t.Fatalf("supplier certificates: %v\n%s", err, out.stdout)
	}
	for _, c := range certs {
		if c.Status != "good" {
			t.Fatalf("freshly enrolled certificate %s is %s", c.Serial, c.Status)
		}
		f.serials = append(f.serials, c.Serial)
	}
	slices.Sort(f.serials)
	return f
}

// scheduledEvent is an approved event whose revocation is scheduled.
type scheduledEvent struct {
	id       string
	revokeAt time.Time
}

// declareAndApprove has the liaison declare with a revocation time a
// margin ahead and the approver approve; the approval must only schedule.
// The margin is generous and grows with the measured round trip, so the
// two calls and the kill that follows fit in it even on a loaded machine.
func (f *solrFixture) declareAndApprove(t *testing.T) scheduledEvent {
	t.Helper()
	margin := 5*time.Second + 10*f.slowestCall
	revokeAt := time.Now().Add(margin).UTC().Truncate(time.Second)
	var declared struct {
		Event struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"event"`
		DryRun struct {
			Certificates []struct {
				Serial string `json:"serial"`
			} `json:"certificates"`
		} `json:"dry_run"`
	}
	out := f.ra.as(f.liaison).must("solr", "declare", "--failed-party", f.supplier, "--srp-user", f.srpSC,
		"--instruction", "OFGEM-SOLR-E2E-KILL", "--revoke-at", revokeAt.Format(time.RFC3339), "--json")
	if err := json.Unmarshal([]byte(out.stdout), &declared); err != nil {
		t.Fatalf("declare output: %v\n%s", err, out.stdout)
	}
	var dry []string
	for _, c := range declared.DryRun.Certificates {
		dry = append(dry, c.Serial)
	}
	slices.Sort(dry)
	if declared.Event.State != "declared" || !slices.Equal(dry, f.serials) {
		t.Fatalf("declared %q, dry run %v, want declared and %v", declared.Event.State, dry, f.serials)
	}
	var approved struct {
		Event struct {
			State string `json:"state"`
			JobID string `json:"job_id"`
		} `json:"event"`
	}
	out = f.ra.as(f.approver).must("solr", "approve", declared.Event.ID, "--json")
	if err := json.Unmarshal([]byte(out.stdout), &approved); err != nil {
		t.Fatalf("approve output: %v\n%s", err, out.stdout)
	}
	if approved.Event.State != "approved" || approved.Event.JobID == "" {
		t.Fatalf("approval did not schedule the revocation (margin %v too short?): %s", margin, out.stdout)
	}
	t.Logf("event %s approved, revocation due %s (margin %v)", declared.Event.ID, revokeAt.Format(time.RFC3339), margin)
	return scheduledEvent{id: declared.Event.ID, revokeAt: revokeAt}
}

// killBefore SIGKILLs srv and fails unless it was dead before revokeAt:
// otherwise it may have run the job itself and the test proves nothing.
func killBefore(t *testing.T, srv *server, revokeAt time.Time) {
	t.Helper()
	srv.kill()
	if dead := time.Now(); !dead.Before(revokeAt) {
		t.Fatalf("the SIGKILL completed at %s, not before revoke-at %s: the machine is too slow for the margin",
			dead.Format(time.RFC3339Nano), revokeAt.Format(time.RFC3339))
	}
}

// waitLeader waits until exactly one of a and b reports scheduler leader
// and the other standby, and returns them in that order.
func waitLeader(t *testing.T, a, b *server) (leader, standby *server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		sa, sb := a.schedulerState(), b.schedulerState()
		switch {
		case sa == "leader" && sb == "standby":
			return a, b
		case sb == "leader" && sa == "standby":
			return b, a
		case sa == "leader" && sb == "leader":
			t.Fatal("two scheduler leaders")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader after 30s: %q %q", sa, sb)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pendingState is what the store says about a scheduled, not yet run
// revocation.
type pendingState struct {
	id      string   // the event
	event   string   // its state
	jobs    []string // pending jobs, as "event_id/state"
	good    int      // the supplier's certificates still good
	revokes int      // solr.revoke audit records that are not refusals
	want    int
}

func readPending(t *testing.T, st store.Store, f *solrFixture, id string) pendingState {
	t.Helper()
	p := pendingState{id: id, want: len(f.serials)}
	err := st.View(context.Background(), func(tx store.Tx) error {
		raw, err := tx.GetRecord(solrRecEvent, id)
		if err != nil {
			return err
		}
		var e struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		p.event = e.State
		recs, err := tx.ListRecords(solrRecJobs, "", 0)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var j struct {
				EventID string `json:"event_id"`
				State   string `json:"state"`
			}
			if err := json.Unmarshal(r.Value, &j); err != nil {
				return err
			}
			p.jobs = append(p.jobs, j.EventID+"/"+j.State)
		}
		certs, err := tx.ListCertificates(store.CertFilter{PartyID: f.supplier})
		if err != nil {
			return err
		}
		for _, c := range certs {
			if c.Status == store.StatusGood {
				p.good++
			}
		}
		entries, err := tx.AuditEntries(1, 0)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Action == solrActRevoke && !notDone(e) {
				p.revokes++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the store after the kill: %v", err)
	}
	return p
}

func (p pendingState) check(t *testing.T) {
	t.Helper()
	if want := []string{p.id + "/pending"}; p.event != "approved" || !slices.Equal(p.jobs, want) || p.good != p.want || p.revokes != 0 {
		t.Fatalf("after the kill: event %q, pending jobs %v, %d of %d certificates good, %d revocation records; "+
			"want approved, %v, all good, none", p.event, p.jobs, p.good, p.want, p.revokes, want)
	}
}

// waitORL polls srv's ORL until it lists every serial and returns it.
func waitORL(t *testing.T, srv *server, serials []string) *x509.RevocationList {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, der := srv.get(t, "/crl/orl.crl")
		if code == 200 {
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatalf("served ORL: %v", err)
			}
			listed := 0
			for _, e := range crl.RevokedCertificateEntries {
				sn := fmt.Sprintf("%x", e.SerialNumber)
				if slices.ContainsFunc(serials, func(s string) bool { return crlSerial(s) == sn }) {
					listed++
				}
			}
			if listed >= len(serials) {
				_, issPEM := srv.get(t, "/ca/issuing.pem")
				iss, err := dccx509.ParsePEM(issPEM)
				if err != nil {
					t.Fatalf("issuing CA: %v", err)
				}
				if err := crl.CheckSignatureFrom(iss[0]); err != nil {
					t.Fatalf("served ORL signature: %v", err)
				}
				return crl
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the served ORL did not list the failed Supplier's %d certificates within 30s (last status %d)", len(serials), code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verifyAuditCLI runs `smki audit verify` on the store of a stopped (bbolt)
// or any (PostgreSQL) server.
func verifyAuditCLI(t *testing.T, eng engine) {
	t.Helper()
	r := mustRun(t, nil, "audit", "verify", "--store", eng.spec, "--json")
	var rep struct {
		OK      bool   `json:"ok"`
		Entries uint64 `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.OK || rep.Entries == 0 {
		t.Fatalf("smki audit verify: %v\n%s", err, r.stdout)
	}
}

// checkScheduledRevocation audits the store after the scheduled
// revocation: once per serial, reason 5, consecutive sequence numbers,
// one audit record by the scheduler not before revoke-at, the event
// active with exactly those serials, the job logged done and none left
// pending, and orl (the served ORL) listing each serial once with
// cessationOfOperation.
func checkScheduledRevocation(t *testing.T, st store.Store, f *solrFixture, ev scheduledEvent, orl *x509.RevocationList) {
	t.Helper()
	want := map[string]bool{}
	for _, s := range f.serials {
		want[s] = true
	}
	// On PostgreSQL an audit record is durable in the pending table with
	// its transaction and chained by a sealer (an instance's timer, its
	// Close, the next Open): chain what is pending before reading the
	// chain. The stopped instance's Close may not have got to it (its
	// drain can outlast the test's stop), and smki audit verify, which
	// sealed as a side effect, opens the store read-only since 0ba8e3d.
	if err := st.SealAudit(context.Background()); err != nil {
		t.Fatalf("sealing the pending audit records: %v", err)
	}
	err := st.View(context.Background(), func(tx store.Tx) error {
		certs, err := tx.ListCertificates(store.CertFilter{PartyID: f.supplier})
		if err != nil {
			return err
		}
		if len(certs) != len(f.serials) {
			t.Errorf("the supplier has %d certificates, want %d", len(certs), len(f.serials))
		}
		for _, c := range certs {
			if !want[c.Serial] || c.Status != store.StatusRevoked || c.Reason != 5 || c.RevocationSeq == 0 {
				t.Errorf("certificate %s: %s reason %d seq %d; want revoked reason 5", c.Serial, c.Status, c.Reason, c.RevocationSeq)
			}
		}

		revs, err := tx.RevocationsSince(0, 0)
		if err != nil {
			return err
		}
		per := map[string]int{}
		var seqs []uint64
		for _, r := range revs {
			if !want[r.Serial] {
				continue
			}
			per[r.Serial]++
			seqs = append(seqs, r.Seq)
			if r.Reason != 5 || r.RevokedAt.Before(ev.revokeAt) {
				t.Errorf("revocation %d of %s: reason %d at %s; want 5 at or after %s", r.Seq, r.Serial, r.Reason,
					r.RevokedAt.Format(time.RFC3339), ev.revokeAt.Format(time.RFC3339))
			}
		}
		for _, s := range f.serials {
			if per[s] != 1 {
				t.Errorf("certificate %s has %d revocation records, want 1", s, per[s])
			}
		}
		slices.Sort(seqs)
		for i := 1; i < len(seqs); i++ {
			if seqs[i] != seqs[i-1]+1 {
				t.Errorf("revocation sequence numbers %v are not consecutive", seqs)
				break
			}
		}
		if head, err := tx.RevocationSeq(); err != nil {
			return err
		} else if len(seqs) > 0 && head != seqs[len(seqs)-1] {
			t.Errorf("revocation feed head %d, want the last of %v", head, seqs)
		}

		entries, err := tx.AuditEntries(1, 0)
		if err != nil {
			return err
		}
		var done []store.AuditEntry
		for _, e := range entries {
			if e.Action != solrActRevoke {
				continue
			}
			if notDone(e) {
				// A failed attempt keeps nothing and is retried; say so.
				t.Logf("%s revocation attempt at %s: %s", e.Result, e.Time.Format(time.RFC3339Nano), e.Detail)
				continue
			}
			done = append(done, e)
		}
		if len(done) != 1 {
			t.Errorf("%d %s audit records, want exactly 1: %+v", len(done), solrActRevoke, done)
		} else if e := done[0]; e.Actor != solrSchedulerActor || e.Result != "allowed" ||
			!strings.Contains(e.Detail, "event="+ev.id) || !strings.Contains(e.Detail, "reason=cessationOfOperation") ||
			!strings.Contains(e.Detail, fmt.Sprintf("count=%d", len(f.serials))) || e.Time.Before(ev.revokeAt) {
			t.Errorf("revocation audit record %+v; want %s, allowed, event %s, cessationOfOperation, count %d, at or after %s",
				e, solrSchedulerActor, ev.id, len(f.serials), ev.revokeAt.Format(time.RFC3339))
		}

		raw, err := tx.GetRecord(solrRecEvent, ev.id)
		if err != nil {
			return err
		}
		var e struct {
			State   string   `json:"state"`
			Revoked []string `json:"revoked"`
			JobID   string   `json:"job_id"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		slices.Sort(e.Revoked)
		if e.State != "active" || !slices.Equal(e.Revoked, f.serials) {
			t.Errorf("event %s: %s, revoked %v; want active, %v", ev.id, e.State, e.Revoked, f.serials)
		}
		if pending, err := tx.ListRecords(solrRecJobs, "", 0); err != nil {
			return err
		} else if len(pending) != 0 {
			t.Errorf("%d jobs still pending", len(pending))
		}
		raw, err = tx.GetRecord(solrRecJobLog, e.JobID)
		if err != nil {
			return fmt.Errorf("job %q in the log: %w", e.JobID, err)
		}
		var j struct {
			State  string `json:"state"`
			Result string `json:"result"`
		}
		if err := json.Unmarshal(raw, &j); err != nil {
			return err
		}
		if j.State != "done" || j.Result != fmt.Sprintf("revoked %d", len(f.serials)) {
			t.Errorf("job %s: %s %q; want done, revoked %d", e.JobID, j.State, j.Result, len(f.serials))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	listed := map[string]int{}
	for _, e := range orl.RevokedCertificateEntries {
		sn := fmt.Sprintf("%x", e.SerialNumber)
		for _, s := range f.serials {
			if crlSerial(s) == sn {
				listed[s]++
				if e.ReasonCode != 5 {
					t.Errorf("ORL lists %s with reason %d, want 5 (cessationOfOperation)", s, e.ReasonCode)
				}
			}
		}
	}
	for _, s := range f.serials {
		if listed[s] != 1 {
			t.Errorf("ORL lists %s %d times, want once", s, listed[s])
		}
	}
}

// crlSerial is serial (stored lower-case hex, possibly zero-padded) as a
// CRL entry's serial number prints with %x.
func crlSerial(serial string) string { return strings.TrimLeft(serial, "0") }

// notDone reports whether audit record e is of an action not carried out:
// refused, or failed (the store busy or failing; docs/api.md, "Audit").
func notDone(e store.AuditEntry) bool {
	return strings.HasPrefix(e.Result, "refused") || strings.HasPrefix(e.Result, "failed")
}
