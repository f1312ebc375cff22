package solr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// SchedulerActor is the audit actor of work the scheduler does.
const SchedulerActor = "system:scheduler"

// Locker lets one of several RA instances sharing a store run scheduled
// work (the PostgreSQL engine provides one over an advisory lock). TryLock
// does not wait: ok false means another instance holds the lock, and
// release must be called when ok is true.
type Locker interface {
	TryLock(ctx context.Context) (release func(), ok bool, err error)
}

// RunScheduler calls RunDue every period until ctx ends, logging failures
// (the next tick retries: nothing of a failed job was kept). A job due
// before the next tick is run at its due time, not up to a period late
// (issue 13: a scheduled SoLR revocation within 5 s of its due time).
func (s *Service) RunScheduler(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	for {
		next, err := s.runDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.env.Log.LogAttrs(ctx, slog.LevelError, "ra scheduler", slog.String("error", err.Error()))
		}
		wait := every
		// Only a job due later than now counts: one already due (failed,
		// waiting for its backoff) must not make the loop spin, nor a
		// clock that stands still (tests) make it poll faster than 50/s.
		if d := next.Sub(s.env.Now()); !next.IsZero() && d > 0 && d < wait {
			wait = max(d+time.Millisecond, 20*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// RunDue runs, once each, every scheduled job due at the service clock
// (the failed Supplier revocations), then closes every event whose end
// time has passed. Each job and each closure is one transaction that
// re-reads its state first, so a job runs exactly once even if RunDue
// runs concurrently, and a crash loses nothing (the job stays pending).
// It returns the first error; later jobs are still attempted.
func (s *Service) RunDue(ctx context.Context) error {
	_, err := s.runDue(ctx)
	return err
}

// runDue is RunDue, also returning when the first job not yet due is due
// (zero: none pending, or this instance does not run scheduled work).
func (s *Service) runDue(ctx context.Context) (next time.Time, err error) {
	if s.env.Locker != nil {
		release, ok, err := s.env.Locker.TryLock(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: scheduler lock: %w", raerr.ErrInternal, err)
		}
		if !ok {
			return time.Time{}, nil
		}
		defer release()
	}
	now := s.env.Now().UTC()
	var jobs []store.Record
	var events []records.SoLREvent
	err = s.env.Store().View(ctx, func(tx store.Tx) error {
		var err error
		if jobs, err = tx.ListRecords(records.KindSchedule, "", 0); err != nil {
			return err
		}
		events, err = records.List[records.SoLREvent](tx, records.KindEvent)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: scheduler: %w", raerr.ErrInternal, err)
	}
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, r := range jobs {
		// Keys sort by due time, so the first job not yet due ends the pass.
		if r.ID > scheduleKeyPrefix(now) {
			var j records.Job
			if json.Unmarshal(r.Value, &j) == nil {
				next = j.DueAt
			}
			break
		}
		if !s.env.Backoff.Due(r.ID, now) {
			continue
		}
		if err := s.runJob(ctx, r.ID, now, SchedulerActor); err != nil {
			s.env.Backoff.Failed(r.ID, now)
			keep(err)
		} else {
			s.env.Backoff.Succeeded(r.ID)
		}
	}
	for _, e := range events {
		if e.State != bundle.EventClosed && e.End != nil && !now.Before(*e.End) {
			keep(s.closeEnded(ctx, e.ID, now))
		}
	}
	return next, first
}

// scheduleKeyPrefix is the greatest key prefix due at now.
func scheduleKeyPrefix(now time.Time) string {
	return now.UTC().Format("20060102T150405.000000000Z") + "/\xff"
}

// runNow runs the job at key now, on behalf of actor (Approve's
// revocation step), under the scheduler's lock if there is one: without
// it (another instance is running due jobs) it leaves the job to that
// instance's scheduler, which runs it at its next tick at the latest.
func (s *Service) runNow(ctx context.Context, key, actor string) error {
	if s.env.Locker != nil {
		release, ok, err := s.env.Locker.TryLock(ctx)
		if err != nil {
			return fmt.Errorf("%w: scheduler lock: %w", raerr.ErrInternal, err)
		}
		if !ok {
			return nil
		}
		defer release()
	}
	err := s.runJob(ctx, key, s.env.Now().UTC(), actor)
	if err != nil {
		s.env.Backoff.Failed(key, s.env.Now().UTC())
	}
	return err
}

// runJob runs one pending job in one transaction on behalf of actor (the
// scheduler, or the approver when Approve runs it): it re-reads the job
// (gone means another run did it), does the work, moves the job to the
// log and appends the audit record, all or nothing.
func (s *Service) runJob(ctx context.Context, key string, now time.Time, actor string) error {
	rv, ok := s.env.Revoker()
	if !ok {
		return fmt.Errorf("%w: the issuer cannot revoke inside a transaction", raerr.ErrInternal)
	}
	var j records.Job
	var ran bool
	// The urgent lane, as ca.Revoke: a due revocation is never starved by
	// issuance (issue 13).
	err := s.env.Store().Urgent(ctx, func(tx store.Tx) error {
		ran = false
		err := records.Get(tx, records.KindSchedule, key, &j)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if j.State != records.JobPending || j.DueAt.After(now) {
			return nil
		}
		switch j.Kind {
		case records.JobRevokeFailed:
			e, err := records.LoadEvent(tx, j.EventID)
			if err != nil {
				return err
			}
			// A pending job of a closed event is one Close kept: its
			// revocation could no longer be cancelled (revocationDue).
			if e.State != bundle.EventApproved && (e.State != bundle.EventClosed || e.RevokedAt != nil) {
				j.Result = "skipped: event is " + string(e.State)
			} else {
				if err := s.revokeFailedTx(tx, rv, &e, now, actor); err != nil {
					return err
				}
				if err := records.Put(tx, records.KindEvent, e.ID, e); err != nil {
					return err
				}
				j.Result = fmt.Sprintf("revoked %d", e.RevokedCount)
				if e.State == bundle.EventClosed {
					j.Result += " (event closed)"
				}
			}
		default:
			j.Result = "skipped: unknown job kind " + j.Kind
		}
		j.State, j.DoneAt = records.JobDone, now
		if err := tx.DeleteRecord(records.KindSchedule, key); err != nil {
			return err
		}
		if err := records.Put(tx, records.KindScheduleLog, j.ID, j); err != nil {
			return err
		}
		ran = true
		return nil
	})
	if err != nil {
		err = fmt.Errorf("job %s: %w", key, err)
		s.env.Refused(ctx, actor, authz.ActRevokeFailed, "job:"+j.ID, err)
		return err
	}
	if ran {
		s.env.Log.LogAttrs(ctx, slog.LevelInfo, "ra scheduled job done", slog.String("job", j.ID), slog.String("result", j.Result))
	}
	return nil
}

// closeEnded closes an event whose end time has passed (docs/api.md, "SoLR events").
func (s *Service) closeEnded(ctx context.Context, id string, now time.Time) error {
	err := s.env.Store().Update(ctx, func(tx store.Tx) error {
		e, err := records.LoadEvent(tx, id)
		if err != nil {
			return err
		}
		if e.State == bundle.EventClosed || e.End == nil || now.Before(*e.End) {
			return nil
		}
		detail, err := s.closeTx(tx, &e, SchedulerActor, "end time reached")
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(s.env.Entry(SchedulerActor, authz.ActCloseSoLR, "solr:"+id, "allowed", detail))
		return err
	})
	if err != nil {
		return fmt.Errorf("closing event %s: %w", id, err)
	}
	return nil
}

// cancelJobTx moves the pending job jobID (if still pending) to the log as
// cancelled. It reports whether it cancelled one.
func (s *Service) cancelJobTx(tx store.Tx, jobID string, now time.Time) (bool, error) {
	recs, err := tx.ListRecords(records.KindSchedule, "", 0)
	if err != nil {
		return false, fmt.Errorf("%w: list jobs: %w", raerr.ErrInternal, err)
	}
	for _, r := range recs {
		var j records.Job
		if err := records.Get(tx, records.KindSchedule, r.ID, &j); err != nil {
			return false, err
		}
		if j.ID != jobID {
			continue
		}
		j.State, j.DoneAt, j.Result = records.JobCancelled, now, "cancelled: event closed"
		if err := tx.DeleteRecord(records.KindSchedule, r.ID); err != nil {
			return false, fmt.Errorf("%w: %w", raerr.ErrInternal, err)
		}
		return true, records.Put(tx, records.KindScheduleLog, j.ID, j)
	}
	return false, nil
}

// PendingJobs returns the scheduled jobs not yet run, in due order (for
// operators and tests).
func (s *Service) PendingJobs(ctx context.Context) ([]records.Job, error) {
	var out []records.Job
	err := s.env.Store().View(ctx, func(tx store.Tx) error {
		var err error
		out, err = records.List[records.Job](tx, records.KindSchedule)
		return err
	})
	return out, err
}
