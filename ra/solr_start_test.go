package ra

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// TestApprovalBeforeStartLeavesTheSupplierUntilStart: an event whose
// start is still to come when it is approved changes nothing of the
// failed Supplier before its start. Before, the approval made the party
// "failed" at once (every verifier refusing its users) and, with
// revoke-at "now" (the default), revoked its certificates, while the SRP
// was authorised only from the start: from approval to start nobody
// could put a prepayment meter into credit, the gap the SoLR Contingency
// role exists to close. Now the revocation defaults to the start, and
// the party becomes "failed" with it, in the job the scheduler runs then.
func TestApprovalBeforeStartLeavesTheSupplierUntilStart(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	start := s.clock.Now().Add(time.Hour)
	res := s.declareFrom(start)
	got, err := s.svc.ApproveSoLR(ctx, s.approver, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Event.State != bundle.EventApproved || got.Event.RevokeAt == nil || !got.Event.RevokeAt.Equal(start) {
		t.Fatalf("approved before its start: state %s revoke_at %v, want approved with revoke_at the start %s", got.Event.State, got.Event.RevokeAt, start)
	}
	if st := s.partyStatusOf(t); st != store.StatusActive {
		t.Fatalf("party after an approval before the start: %s, want active until the start", st)
	}
	if c := s.certStatus(s.isSerial); c.Status != store.StatusGood {
		t.Fatalf("certificate after an approval before the start: %s, want good until the start", c.Status)
	}
	if x := s.lastAudit(ActApproveSoLR); !strings.Contains(x.Detail, "until start") {
		t.Fatalf("approval audit detail %q does not say the party is left as it is until the start", x.Detail)
	}
	s.clock.Set(start.Add(-time.Second))
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.partyStatusOf(t); st != store.StatusActive || s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatalf("a second before the start: party %s, certificate %s; want both unchanged", st, s.certStatus(s.isSerial).Status)
	}
	seq := s.partySeq()
	s.clock.Set(start)
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.partyStatusOf(t); st != records.PartyFailed {
		t.Fatalf("party at the start: %s, want failed", st)
	}
	if s.partySeq() <= seq {
		t.Fatal("the party-status sequence did not move at the start: verifiers would not learn the party failed")
	}
	if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || c.Reason != reasonCessation {
		t.Fatalf("certificate at the start: %s %d, want revoked (cessationOfOperation)", c.Status, c.Reason)
	}
	ev, err := s.svc.GetSoLR(ctx, s.admin, res.ID)
	if err != nil || ev.Event.State != bundle.EventActive || ev.Event.PartyStatusBefore != store.StatusActive {
		t.Fatalf("event at the start: %+v %v; want active, party_status_before active", ev.Event, err)
	}
	if x := s.lastAudit(ActRevokeFailed); !strings.Contains(x.Detail, "party_status="+records.PartyFailed) {
		t.Fatalf("revocation audit detail %q does not say the party became failed", x.Detail)
	}
}

// TestCloseBeforeStartChangesNothing: an event approved before its start
// and closed before it leaves the party as it was, with its revocation
// cancelled.
func TestCloseBeforeStartChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	start := s.clock.Now().Add(time.Hour)
	res := s.declareFrom(start)
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, res.ID); err != nil {
		t.Fatal(err)
	}
	seq := s.partySeq()
	if _, err := s.svc.CloseSoLR(ctx, s.liaison, res.ID, "instruction withdrawn"); err != nil {
		t.Fatal(err)
	}
	s.clock.Set(start.Add(time.Minute))
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.partyStatusOf(t); st != store.StatusActive || s.partySeq() != seq {
		t.Fatalf("party after a close before the start: %s (sequence %d -> %d), want active and unchanged", st, seq, s.partySeq())
	}
	if c := s.certStatus(s.isSerial); c.Status != store.StatusGood {
		t.Fatalf("certificate after a close before the start: %s", c.Status)
	}
	if x := s.lastAudit(ActCloseSoLR); !strings.Contains(x.Detail, " cancelled=") {
		t.Fatalf("close audit detail %q does not say the revocation was cancelled", x.Detail)
	}
}
