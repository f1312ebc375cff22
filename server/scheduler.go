package server

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

// runCAMaintenance warns (on every instance, at most daily) of a CA
// certificate near or past its expiry, reissues CRLs before they go stale, warns when the ARL
// is stale or expired all the same (the root is offline, or its refresh
// failed), and settles issuance intents that Open left open because they
// were young (an instance that died mid-issuance), while this instance
// leads, until ctx ends.
func runCAMaintenance(ctx context.Context, authority *ca.CA, sched *scheduler, expiry *caExpiry, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var arl arlWatch
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		expiry.observe(time.Now())
		if !sched.lead(ctx) {
			continue
		}
		if err := authority.RefreshCRLs(ctx); err != nil && ctx.Err() == nil {
			log.Error("CRL refresh failed", "err", err)
		}
		if st, err := authority.ARLStatus(ctx); err == nil {
			arl.observe(st, authority.RootOffline(), time.Now(), log)
		} else if ctx.Err() == nil {
			log.Error("reading the ARL failed", "err", err)
		}
		if _, err := authority.Reconcile(ctx); err != nil && ctx.Err() == nil {
			log.Error("reconciling issuance intents failed", "err", err)
		}
	}
}

// arlWarnEvery is how often a stale or expired ARL is warned about again:
// a ceremony is days of notice away, so once a minute would only bury it.
const arlWarnEvery = time.Hour

// arlWatch turns ARL states into log lines: a warning when the ARL turns
// stale or expired and again every arlWarnEvery while it stays so, and an
// info line when it is fresh again.
type arlWatch struct {
	last   ca.ARLState
	warned time.Time
}

func (w *arlWatch) observe(st ca.ARLStatus, offline bool, now time.Time, log *slog.Logger) {
	changed := st.State != w.last
	w.last = st.State
	if st.State == ca.ARLOK {
		if changed && !w.warned.IsZero() {
			log.Info("ARL fresh again", "number", st.Number, "next_update", st.NextUpdate)
			w.warned = time.Time{}
		}
		return
	}
	if !changed && now.Sub(w.warned) < arlWarnEvery {
		return
	}
	w.warned = now
	msg := "ARL past half its lifetime"
	if st.State == ca.ARLExpired {
		msg = "ARL expired: relying parties reject it"
	} else if st.State == ca.ARLMissing {
		msg = "no ARL stored"
	}
	if offline {
		msg += "; the root is offline: hold a key ceremony (smki ca arl) and run smki ca import-arl"
	}
	log.Warn(msg, "arl", string(st.State), "number", st.Number, "next_update", st.NextUpdate)
}
