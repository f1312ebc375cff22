package ra

import (
	"testing"
	"time"
)

func TestJobBackoff(t *testing.T) {
	t.Parallel()
	var b jobBackoff
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !b.due("j", t0) {
		t.Fatal("a job that never failed is not due")
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	now := t0
	for i, d := range want {
		b.failed("j", now)
		if b.due("j", now.Add(d-time.Nanosecond)) {
			t.Fatalf("failure %d: due before %s", i+1, d)
		}
		if !b.due("j", now.Add(d)) {
			t.Fatalf("failure %d: not due after %s", i+1, d)
		}
		now = now.Add(d)
	}
	for range 30 {
		b.failed("j", now)
	}
	if b.due("j", now.Add(maxJobBackoff-time.Nanosecond)) || !b.due("j", now.Add(maxJobBackoff)) {
		t.Fatal("backoff not capped at maxJobBackoff")
	}
	if !b.due("other", now) {
		t.Fatal("one job's failures delay another")
	}
	b.succeeded("j")
	if !b.due("j", now) {
		t.Fatal("success did not reset the backoff")
	}
}
