package ra

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// countingLocker is a Locker that counts RunDue's attempts and can refuse
// (another instance leads) or fail.
type countingLocker struct {
	calls atomic.Int64
	mu    sync.Mutex
	deny  bool
	err   error
}

func (l *countingLocker) TryLock(context.Context) (func(), bool, error) {
	l.calls.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	return func() {}, !l.deny, l.err
}

func (l *countingLocker) set(deny bool, err error) {
	l.mu.Lock()
	l.deny, l.err = deny, err
	l.mu.Unlock()
}

// ticks waits until RunScheduler has made n more passes than now.
func (l *countingLocker) ticks(t *testing.T, n int64) {
	t.Helper()
	want := l.calls.Load() + n
	for deadline := time.Now().Add(10 * time.Second); l.calls.Load() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler made %d passes in 10s, want %d", l.calls.Load(), want)
		}
	}
}

// TestRunSchedulerOnAFakeClock drives the scheduler loop (RunScheduler,
// with a 1 ms period) on the service's fake clock, and PendingJobs: an
// approved event's revocation is pending and untouched until its time;
// at its time a standby (the Locker refuses) and a failing lock do
// nothing and do not stop the loop; the leader revokes once and the job
// leaves PendingJobs; cancelling the context ends the loop.
func TestRunSchedulerOnAFakeClock(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	at := ratest.Start.Add(2 * time.Hour)
	e := s.declare(s.liaison, &at, nil)
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.svc.PendingJobs(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("PendingJobs = %+v, %v; want the one revocation", jobs, err)
	}
	if j := jobs[0]; j.Kind != records.JobRevokeFailed || j.EventID != e.ID || !j.DueAt.Equal(at) || j.State != records.JobPending {
		t.Fatalf("pending job %+v, want %s of event %s due %s", j, records.JobRevokeFailed, e.ID, at)
	}

	lk := &countingLocker{}
	svc, err := New(s.st, s.ca, s.svc.Access(), WithClock(s.clock.Now), WithLocker(lk))
	if err != nil {
		t.Fatal(err)
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.RunScheduler(run, time.Millisecond); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	seq := s.revocationSeq()
	s.clock.Set(at.Add(-time.Nanosecond))
	lk.ticks(t, 3)
	if s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatal("revoked before its time")
	}

	s.clock.Set(at)
	lk.set(true, nil) // another instance leads
	lk.ticks(t, 3)
	lk.set(false, errors.New("injected: lock query failed"))
	lk.ticks(t, 3)
	if s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatal("revoked without holding the scheduler lock")
	}

	lk.set(false, nil)
	lk.ticks(t, 3)
	if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || c.Reason != reasonCessation {
		t.Fatalf("due and leading: %s reason %d, want revoked (cessationOfOperation)", c.Status, c.Reason)
	}
	if got := s.revocationSeq(); got != seq+1 {
		t.Fatalf("revocation sequence %d -> %d over many passes, want one revocation", seq, got)
	}
	if jobs, err := s.svc.PendingJobs(ctx); err != nil || len(jobs) != 0 {
		t.Fatalf("PendingJobs after the run = %+v, %v; want none", jobs, err)
	}

	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunScheduler did not return after its context ended")
	}
}
