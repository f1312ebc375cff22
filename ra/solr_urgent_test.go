package ra

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// laneStore counts the transactions run in each lane, and the ones of
// them that revoked.
type laneStore struct {
	store.Store
	urgent, urgentRevoked, updateRevoked atomic.Int32
}

func (s *laneStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(laneTx{Tx: tx, revoked: &s.updateRevoked}) })
}

func (s *laneStore) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	s.urgent.Add(1)
	return s.Store.Urgent(ctx, func(tx store.Tx) error { return fn(laneTx{Tx: tx, revoked: &s.urgentRevoked}) })
}

type laneTx struct {
	store.Tx
	revoked *atomic.Int32
}

func (t laneTx) RevokeMany(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	t.revoked.Add(1)
	return t.Tx.RevokeMany(serials, reason, at)
}

func (t laneTx) Revoke(serial string, reason int, at time.Time) (store.Revocation, error) {
	t.revoked.Add(1)
	return t.Tx.Revoke(serial, reason, at)
}

// TestSoLRRevokesInTheUrgentLane (issue 13): a SoLR approval that revokes
// at once and the scheduler's due revocation both run in Store.Urgent
// (issuance can neither make them fail nor hold them back), never in an
// ordinary Update, and each wakes the held revocation feed requests when
// it commits.
func TestSoLRRevokesInTheUrgentLane(t *testing.T) {
	t.Parallel()
	for _, scheduled := range []bool{false, true} {
		s := newSoLRScenario(t)
		ctx := context.Background()
		lanes := &laneStore{Store: s.st}
		s.svc.st = feedhub.Store{Store: lanes, Hub: &s.svc.feed}
		var at *time.Time
		if scheduled {
			due := ratest.Start.Add(time.Hour)
			at = &due
		}
		e := s.declare(s.liaison, at, nil)
		woken := s.svc.feed.Changed()
		if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
			t.Fatal(err)
		}
		if scheduled {
			// The party's failed status woke the feed; nothing is revoked
			// until the job runs.
			if lanes.urgentRevoked.Load() != 0 {
				t.Fatal("scheduling revoked")
			}
			woken = s.svc.feed.Changed()
			s.clock.Set(*at)
			if err := s.svc.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if s.certStatus(s.isSerial).Status != store.StatusRevoked {
			t.Fatalf("scheduled=%v: the failed supplier's certificate is not revoked", scheduled)
		}
		if lanes.urgentRevoked.Load() == 0 || lanes.updateRevoked.Load() != 0 {
			t.Fatalf("scheduled=%v: revoked in %d urgent and %d ordinary transactions; want urgent only",
				scheduled, lanes.urgentRevoked.Load(), lanes.updateRevoked.Load())
		}
		select {
		case <-woken:
		default:
			t.Fatalf("scheduled=%v: the revocation did not wake the feed", scheduled)
		}
	}
}
