package crlfresh

import (
	"testing"
	"time"
)

// TestGrade pins the boundaries: stale at exactly half the lifetime,
// expired at exactly nextUpdate.
func TestGrade(t *testing.T) {
	t.Parallel()
	this := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := this.Add(10 * 24 * time.Hour)
	for _, tt := range []struct {
		at   time.Duration
		want State
	}{
		{-time.Hour, OK},
		{0, OK},
		{5*24*time.Hour - time.Second, OK},
		{5 * 24 * time.Hour, Stale},
		{10*24*time.Hour - time.Second, Stale},
		{10 * 24 * time.Hour, Expired},
		{11 * 24 * time.Hour, Expired},
	} {
		now := this.Add(tt.at)
		if got := Grade(this, next, now); got != tt.want {
			t.Errorf("at +%v: %s, want %s", tt.at, got, tt.want)
		}
		if got := PastNextUpdate(next, now); got != (tt.want == Expired) {
			t.Errorf("at +%v: PastNextUpdate %v, want %v", tt.at, got, tt.want == Expired)
		}
	}
}
