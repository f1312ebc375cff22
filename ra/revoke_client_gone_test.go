package ra

import (
	"context"
	"sync"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/store"
)

// TestBulkRevocationOutlivesItsClient: the officer's client goes away
// (smki revoke --party --yes killed, its connection closed: the request's
// context is cancelled) while the CA is marking the party's serials. The
// revocation the RA started is carried out and committed, on both
// engines, as it would have been with the client still there: the client
// was told nothing, and its next look (smki certs --party P --status
// revoked) shows the whole party revoked, never a revocation dropped half
// way because the terminal closed.
func TestBulkRevocationOutlivesItsClient(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t, open(t)...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The client goes away as soon as the CA reports marking.
			ctx = ca.WithRevokeProgress(ctx, func(done, total int) { cancel() })
			seq := s.revocationSeq()
			res, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: reasonCessation, Yes: true})
			if err != nil {
				t.Fatalf("revocation whose client left mid-way: %v", err)
			}
			if res.RevokedCount != 1 {
				t.Fatalf("revoked %d, want 1", res.RevokedCount)
			}
			if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || s.revocationSeq() != seq+1 {
				t.Fatalf("after the client left: certificate %s, revocation sequence %d (was %d)", c.Status, s.revocationSeq(), seq)
			}
			if x := s.lastAudit(ActRevokeParty); x.Result != "allowed" {
				t.Fatalf("audit of the revocation: %+v", x)
			}
		})
	}
}

// leaveAfterCutOff is a store whose first Urgent transaction (an
// approval's cut-off) is followed by the approver's client going away:
// cancel is called once it has committed.
type leaveAfterCutOff struct {
	store.Store
	cancel context.CancelFunc
	once   sync.Once
}

func (s *leaveAfterCutOff) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	err := s.Store.Urgent(ctx, fn)
	s.once.Do(s.cancel)
	return err
}

// TestSoLRApprovalOutlivesItsClient: the approver's client goes away
// (smki solr approve killed, its connection closed) just after the
// approval's cut-off committed. The approval still revokes the party's
// certificates itself, as the approver, at once: not a failed job, an
// ERROR in the log and a refusal in the audit log, left for the scheduler
// to retry after its backoff.
func TestSoLRApprovalOutlivesItsClient(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t, open(t)...)
			e := s.declare(s.liaison, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s.svc.st = feedhub.Store{Store: &leaveAfterCutOff{Store: s.st, cancel: cancel}, Hub: &s.svc.feed}
			seq := s.revocationSeq()
			res, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID)
			if err != nil {
				t.Fatalf("approval whose client left after the cut-off: %v", err)
			}
			if res.Event.State != bundle.EventActive || s.certStatus(s.isSerial).Status != store.StatusRevoked || s.revocationSeq() != seq+1 {
				t.Fatalf("approval whose client left after the cut-off: event %s, certificate %s; want active and revoked by the approval",
					res.Event.State, s.certStatus(s.isSerial).Status)
			}
			if x := s.lastAudit(ActRevokeFailed); x.Actor != "approver" || x.Result != "allowed" {
				t.Fatalf("last solr.revoke record %+v, want the approver's, allowed", x)
			}
		})
	}
}
