package ra

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// crashStore makes every transaction that revokes fail while crash is
// set: what it leaves in the store is what a crash between the SoLR
// approval's cut-off and its revocation job leaves.
type crashStore struct {
	store.Store
	crash atomic.Bool
}

func (s *crashStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(crashTx{Tx: tx, crash: &s.crash}) })
}

func (s *crashStore) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Urgent(ctx, func(tx store.Tx) error { return fn(crashTx{Tx: tx, crash: &s.crash}) })
}

type crashTx struct {
	store.Tx
	crash *atomic.Bool
}

var errCrash = errors.New("crash before the revocation commits")

func (t crashTx) RevokeMany(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	if t.crash.Load() {
		return nil, errCrash
	}
	return t.Tx.RevokeMany(serials, reason, at)
}

func (t crashTx) Revoke(serial string, reason int, at time.Time) (store.Revocation, error) {
	if t.crash.Load() {
		return store.Revocation{}, errCrash
	}
	return t.Tx.Revoke(serial, reason, at)
}

// partyRevocation returns the stored party-wide revocation of party, if any.
func (e *env) partyRevocation(party string) (bundle.PartyRevocation, bool) {
	e.t.Helper()
	var rs []bundle.PartyRevocation
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		rs, err = records.PartyRevocations(tx)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rs {
		if r.Party.String() == party {
			return r, true
		}
	}
	return bundle.PartyRevocation{}, false
}

// TestApprovalCutOffSurvivesACrashBeforeTheRevocation (issue 20): the
// approval's first transaction cuts the party off on its own (failed
// status, party-wide revocation, party_seq advanced, held feed requests
// woken, the approval's audit record, a revocation job due now). If the
// per-certificate revocation then fails, as a crash would make it, the
// approval still stands and its job is durable: a restarted RA's
// scheduler runs it, once.
func TestApprovalCutOffSurvivesACrashBeforeTheRevocation(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	cs := &crashStore{Store: s.st}
	s.svc.st = feedhub.Store{Store: cs, Hub: &s.svc.feed}
	e := s.declare(s.liaison, nil, nil)
	seq, pseq := s.revocationSeq(), s.partySeq()
	woken := s.svc.feed.Changed()
	cs.crash.Store(true)
	res, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID)
	if err != nil {
		t.Fatalf("approval with its revocation failing: %v; want the cut-off to stand", err)
	}
	if res.Event.State != bundle.EventApproved || res.Event.JobID == "" || res.Event.RevokedCount != 0 {
		t.Fatalf("event after a failed revocation step: %+v", res.Event)
	}
	select {
	case <-woken:
	default:
		t.Fatal("the cut-off did not wake the held feed requests")
	}
	r, ok := s.partyRevocation(s.supplier.String())
	if !ok || r.Reason != reasonCessation || r.RevokedAt.After(s.clock.Now()) {
		t.Fatalf("party-wide revocation after the cut-off: %+v %v", r, ok)
	}
	if nb := s.certStatus(s.isSerial).NotBefore; !nb.Before(r.IssuedBefore) {
		t.Fatalf("the party-wide revocation (issued_before %s) does not cover the certificate (notBefore %s)", r.IssuedBefore, nb)
	}
	if p, _ := s.svc.GetParty(ctx, s.admin, s.supplier); p.Status != PartyFailed {
		t.Fatalf("party is %s after the cut-off", p.Status)
	}
	// One party_seq step per change: the status and the party-wide record.
	if got := s.partySeq(); got != pseq+2 {
		t.Fatalf("party_seq %d -> %d, want +2", pseq, got)
	}
	if s.revocationSeq() != seq || s.certStatus(s.isSerial).Status != store.StatusGood || s.records(records.KindSchedule) != 1 {
		t.Fatal("the failed revocation step left a revocation, or no job")
	}
	if x := s.lastAudit(ActApproveSoLR); x.Result != "allowed" || !strings.Contains(x.Detail, "cut_off=") {
		t.Fatalf("approval audit %+v", x)
	}

	// Restart: a new Service over the same store finds the job due.
	cs.crash.Store(false)
	svc2, err := New(s.st, s.ca, s.svc.Access(), WithClock(s.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := svc2.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || c.Reason != reasonCessation || s.revocationSeq() != seq+1 {
		t.Fatalf("after restart: %s reason %d, revocation seq %d -> %d", c.Status, c.Reason, seq, s.revocationSeq())
	}
	if s.records(records.KindSchedule) != 0 || s.records(records.KindScheduleLog) != 1 {
		t.Fatal("job not moved to the log")
	}
	got, err := s.svc.GetSoLR(ctx, s.admin, e.ID)
	if err != nil || got.Event.State != bundle.EventActive || got.Event.RevokedCount != 1 || got.Event.Revoked[0] != s.isSerial {
		t.Fatalf("event after the job: %+v %v", got.Event, err)
	}
	if x := s.lastAudit(ActRevokeFailed); x.Actor != schedulerActor || x.Result != "allowed" {
		t.Fatalf("revocation audit %+v", x)
	}
	// The job's merge of the party-wide record changed nothing.
	if r2, _ := s.partyRevocation(s.supplier.String()); r2 != r || s.partySeq() != pseq+2 {
		t.Fatalf("party-wide revocation %+v -> %+v, party_seq %d", r, r2, s.partySeq())
	}
}

// partySeq returns the store's party-status sequence.
func (e *env) partySeq() uint64 {
	e.t.Helper()
	var n uint64
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = records.PartySeq(tx)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestCloseAfterCutOffStillRevokesTheCertificates: closing an approved
// event cancels its revocation only while the revocation time is still to
// come. Once the approval has cut the party off (its job failed, as a
// crash would make it), or a scheduled revocation's time has passed
// before the scheduler ran it, the party-wide revocation stands or is due,
// so the job is kept: the scheduler then revokes every certificate of the
// party on the closed event, which stays closed with its revocation
// recorded. Cancelling it left the party cut off for every verifier while
// its certificates stayed good in the store, the ORL and OCSP for ever.
func TestCloseAfterCutOffStillRevokesTheCertificates(t *testing.T) {
	t.Parallel()
	for engine, open := range raceEngines {
		for _, tc := range []struct {
			name       string
			future     bool          // revoke-at after the approval (nil: at approval)
			closeAfter time.Duration // clock advance after approval, before the close
			revokes    bool
		}{
			{name: "cut off at approval, job failed", revokes: true},
			{name: "scheduled, time passed, job not run", future: true, closeAfter: time.Hour + time.Minute, revokes: true},
			{name: "scheduled, time to come", future: true, closeAfter: time.Minute},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSoLRScenario(t, open(t)...)
				ctx := context.Background()
				cs := &crashStore{Store: s.st}
				s.svc.st = feedhub.Store{Store: cs, Hub: &s.svc.feed}
				var at *time.Time
				if tc.future {
					r := ratest.Start.Add(time.Hour)
					at = &r
				}
				e := s.declare(s.liaison, at, nil)
				cs.crash.Store(true)
				res, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID)
				if err != nil || res.Event.State != bundle.EventApproved || res.Event.JobID == "" {
					t.Fatalf("approve: %+v %v", res.Event, err)
				}
				s.clock.Set(s.clock.Now().Add(tc.closeAfter))
				closed, err := s.svc.CloseSoLR(ctx, s.liaison, e.ID, "instruction OFGEM-END")
				if err != nil || closed.State != bundle.EventClosed {
					t.Fatalf("close: %+v %v", closed, err)
				}

				// The fault is gone; the scheduler's next pass (past any backoff).
				cs.crash.Store(false)
				s.clock.Set(s.clock.Now().Add(time.Hour))
				if err := s.svc.RunDue(ctx); err != nil {
					t.Fatal(err)
				}
				if s.records(records.KindSchedule) != 0 || s.records(records.KindScheduleLog) != 1 {
					t.Fatal("the job is neither done nor cancelled")
				}
				if s.certStatus(s.scSerial).Status != store.StatusGood {
					t.Fatal("the SRP's certificate was revoked")
				}
				got, err := s.svc.GetSoLR(ctx, s.admin, e.ID)
				if err != nil || got.Event.State != bundle.EventClosed || got.Event.ClosedBy != "liaison" {
					t.Fatalf("event after the scheduler: %+v %v", got.Event, err)
				}
				orl, err := s.ca.CRL(ctx, "orl")
				if err != nil {
					t.Fatal(err)
				}
				c := s.certStatus(s.isSerial)
				_, cut := s.partyRevocation(s.supplier.String())
				if !tc.revokes {
					if c.Status != store.StatusGood || cut || got.Event.RevokedAt != nil || crlLists(t, orl, s.isSerial) {
						t.Fatalf("a revocation cancelled by the close ran: %s, party-wide %v, event %+v", c.Status, cut, got.Event)
					}
					if x := s.lastAudit(ActCloseSoLR); !strings.Contains(x.Detail, " cancelled="+res.Event.JobID) {
						t.Fatalf("close audit detail %q does not name the cancelled job", x.Detail)
					}
					return
				}
				if c.Status != store.StatusRevoked || c.Reason != reasonCessation {
					t.Fatalf("the failed party's certificate after the close: %s reason %d", c.Status, c.Reason)
				}
				if !cut || !crlLists(t, orl, s.isSerial) {
					t.Fatalf("party-wide revocation %v, ORL lists the certificate %v", cut, crlLists(t, orl, s.isSerial))
				}
				if ev := got.Event; ev.RevokedAt == nil || ev.RevokedCount != 1 || ev.Revoked[0] != s.isSerial {
					t.Fatalf("the closed event does not record its revocation: %+v", ev)
				}
				if x := s.lastAudit(ActRevokeFailed); x.Actor != schedulerActor || x.Result != "allowed" ||
					!strings.Contains(x.Detail, "event="+e.ID) || !strings.Contains(x.Detail, "event_state=closed") {
					t.Fatalf("revocation audit %+v", x)
				}
				if x := s.lastAudit(ActCloseSoLR); !strings.Contains(x.Detail, " kept="+res.Event.JobID) {
					t.Fatalf("close audit detail %q does not name the job it kept", x.Detail)
				}
			})
		}
	}
}
