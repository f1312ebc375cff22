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

// TestCloseBeforeRevocationRestoresTheParty: an event approved with a
// revocation time still to come makes the Supplier "failed" at once; a
// close before that time cancels the revocation, and with it the
// failure: the party gets back the status it had before the approval
// (active, or suspended), the party-status sequence moves so every
// verifier learns it, and the close's audit record says so. Before, the
// party stayed "failed" (every verifier refusing its users) while each of
// its certificates stayed good in the store, the ORL and OCSP, and no
// step could reinstate it. A close after the revocation ran changes no
// party status.
func TestCloseBeforeRevocationRestoresTheParty(t *testing.T) {
	t.Parallel()
	for _, before := range []string{store.StatusActive, store.StatusSuspended} {
		t.Run(before, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t)
			ctx := context.Background()
			if before != store.StatusActive {
				if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.supplier, before); err != nil {
					t.Fatal(err)
				}
			}
			at := s.clock.Now().Add(2 * time.Hour)
			e := s.declare(s.liaison, &at, nil)
			if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
				t.Fatal(err)
			}
			if got := s.partyStatusOf(t); got != records.PartyFailed {
				t.Fatalf("party after approval: %s, want failed", got)
			}
			seq := s.partySeq()
			s.clock.Advance(time.Hour)
			closed, err := s.svc.CloseSoLR(ctx, s.liaison, e.ID, "instruction withdrawn")
			if err != nil || closed.State != bundle.EventClosed {
				t.Fatalf("close: %+v %v", closed, err)
			}
			if got := s.partyStatusOf(t); got != before {
				t.Fatalf("party after a close that cancelled its revocation: %s, want %s (its status before the approval)", got, before)
			}
			if s.partySeq() <= seq {
				t.Fatal("the party-status sequence did not move: verifiers would not learn the party is no longer failed")
			}
			if x := s.lastAudit(ActCloseSoLR); !strings.Contains(x.Detail, " cancelled=") || !strings.Contains(x.Detail, "party_status="+before) {
				t.Fatalf("close audit detail %q does not say the party's status was restored", x.Detail)
			}
			if c := s.certStatus(s.isSerial); c.Status != store.StatusGood {
				t.Fatalf("certificate after the cancelled revocation: %s", c.Status)
			}
		})
	}
	t.Run("close after the revocation ran", func(t *testing.T) {
		t.Parallel()
		s := newSoLRScenario(t)
		ctx := context.Background()
		e := s.declare(s.liaison, nil, nil) // revoke at approval
		if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.CloseSoLR(ctx, s.liaison, e.ID, "period over"); err != nil {
			t.Fatal(err)
		}
		if got := s.partyStatusOf(t); got != records.PartyFailed {
			t.Fatalf("party after closing an event whose revocation ran: %s, want failed", got)
		}
	})
}

// partyStatusOf returns the failed-party candidate's stored status.
func (s *solrScenario) partyStatusOf(t *testing.T) string {
	t.Helper()
	var p store.Party
	err := s.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		p, err = tx.GetParty(s.supplier.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.Status
}
