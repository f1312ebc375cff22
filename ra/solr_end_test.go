package ra

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// TestSoLRApprovalAfterItsEnd: an approval that arrives at or after the
// event's end, before the scheduler has closed it, is refused
// E_RA_EVENT_STATE saying when it ended, and changes nothing: the party
// stays active, its certificate good, no job is stored. The scheduler then
// closes the event.
func TestSoLRApprovalAfterItsEnd(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	end := ratest.Start.Add(time.Hour)
	e := s.declare(s.liaison, nil, &end)
	s.clock.Set(end)
	_, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID)
	s.wantRefusal(err, ErrEventState, ActApproveSoLR)
	if !strings.Contains(err.Error(), "ended at "+end.Format(time.RFC3339)) {
		t.Errorf("refusal %q does not say when the event ended", err)
	}
	if p, _ := s.svc.GetParty(ctx, s.admin, s.supplier); p.Status != store.StatusActive || s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatalf("after a refused late approval: party %s, certificate %s", p.Status, s.certStatus(s.isSerial).Status)
	}
	if n := s.records(records.KindSchedule); n != 0 {
		t.Fatalf("%d jobs stored by a refused approval", n)
	}
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.svc.GetSoLR(ctx, s.admin, e.ID); got.Event.State != "closed" || got.DryRun != nil {
		t.Fatalf("after the scheduler: %+v (dry run %v)", got.Event, got.DryRun != nil)
	}
}
