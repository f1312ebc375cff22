package jobbackoff

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	var b Backoff
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !b.Due("j", t0) {
		t.Fatal("a job that never failed is not due")
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	now := t0
	for i, d := range want {
		b.Failed("j", now)
		if b.Due("j", now.Add(d-time.Nanosecond)) {
			t.Fatalf("failure %d: due before %s", i+1, d)
		}
		if !b.Due("j", now.Add(d)) {
			t.Fatalf("failure %d: not due after %s", i+1, d)
		}
		now = now.Add(d)
	}
	for range 30 {
		b.Failed("j", now)
	}
	if b.Due("j", now.Add(MaxDelay-time.Nanosecond)) || !b.Due("j", now.Add(MaxDelay)) {
		t.Fatal("backoff not capped at MaxDelay")
	}
	if !b.Due("other", now) {
		t.Fatal("one job's failures delay another")
	}
	b.Succeeded("j")
	if !b.Due("j", now) {
		t.Fatal("success did not reset the backoff")
	}
}
