package cli

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/store/postgres"
)

// schedulerLockKey is the PostgreSQL advisory lock whose holder runs the
// scheduled work of every instance sharing a database ("smki-sch").
const schedulerLockKey int64 = 0x736d6b692d736368

// scheduler decides whether this instance runs scheduled work (the RA's
// SoLR jobs, CRL refresh, late intent reconciliation). On bbolt the
// process is the store's only writer and always leads; on PostgreSQL the
// instance holding schedulerLockKey leads, and another takes over at its
// next poll (every second, through the RA scheduler) once the leader's
// session ends. It implements ra.Locker.
type scheduler struct {
	leader *postgres.Leader // nil: single writer
	log    *slog.Logger
	was    atomic.Bool
}

func newScheduler(st any, log *slog.Logger) *scheduler {
	s := &scheduler{log: log}
	if pg, ok := st.(*postgres.Store); ok {
		s.leader = pg.NewLeader(schedulerLockKey)
	}
	return s
}

// lead reports whether this instance leads now, logging every change.
func (s *scheduler) lead(ctx context.Context) bool {
	if s.leader == nil {
		return true
	}
	ok, err := s.leader.Poll(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("scheduler lock", "err", err)
	}
	if prev := s.was.Swap(ok); prev != ok {
		if ok {
			s.log.Info("scheduler leadership acquired", "lock", schedulerLockKey)
		} else {
			s.log.Info("scheduler leadership lost", "lock", schedulerLockKey)
		}
	}
	return ok
}

// TryLock implements ra.Locker.
func (s *scheduler) TryLock(ctx context.Context) (func(), bool, error) {
	return func() {}, s.lead(ctx), nil
}

// state is "leader" or "standby", as of the last poll.
func (s *scheduler) state() string {
	if s.leader == nil || s.leader.Leading() {
		return "leader"
	}
	return "standby"
}

// release gives up leadership at shutdown so another instance takes over
// at once rather than when PostgreSQL notices the closed connection.
func (s *scheduler) release() {
	if s.leader != nil {
		s.leader.Release()
	}
}

// runCAMaintenance reissues CRLs before they go stale and settles issuance
// intents that Open left open because they were young (an instance that
// died mid-issuance), while this instance leads, until ctx ends.
func runCAMaintenance(ctx context.Context, authority *ca.CA, sched *scheduler, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !sched.lead(ctx) {
			continue
		}
		if err := authority.RefreshCRLs(ctx); err != nil && ctx.Err() == nil {
			log.Error("CRL refresh failed", "err", err)
		}
		if _, err := authority.Reconcile(ctx); err != nil && ctx.Err() == nil {
			log.Error("reconciling issuance intents failed", "err", err)
		}
	}
}
