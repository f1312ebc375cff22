package verifier

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestADTWindowMatchesNaive drives adtWindow and a plain list of
// time.Time that never forgets through the same random records and counts
// (later and earlier times, the clock stepping forward and back by up to
// clockSkew, times exactly on the window's edge and on the slack's) and
// requires the same count every time: the entries after at-period, later
// ones included. The window holds exactly the entries a clock back by at
// most clockSkew from the latest count could still count.
func TestADTWindowMatchesNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 16))
	base := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	const period = 10 * time.Minute
	for round := range 50 {
		var w adtWindow
		var naive []time.Time
		at, latest := base, base
		for step := range 400 {
			next := at
			switch rng.IntN(6) {
			case 0: // a later request
				next = at.Add(time.Duration(rng.IntN(180_000)) * time.Millisecond)
			case 1: // an earlier one (the caller's clock is not ours)
				next = at.Add(-time.Duration(rng.IntN(120_000)) * time.Millisecond)
			case 2: // exactly on the edge of an earlier entry's window
				if len(naive) > 0 {
					next = naive[rng.IntN(len(naive))].Add(period)
				}
			case 3: // the clock steps forward by up to clockSkew
				next = latest.Add(time.Duration(rng.Int64N(int64(clockSkew))))
			case 4: // ... and back, by up to clockSkew from the latest
				next = latest.Add(-time.Duration(rng.Int64N(int64(clockSkew) + 1)))
			case 5: // back by exactly clockSkew
				next = latest.Add(-clockSkew)
			}
			if next.Before(latest.Add(-clockSkew)) {
				next = latest.Add(-clockSkew) // a step beyond reason
			}
			at = next
			if at.After(latest) {
				latest = at
			}
			got := w.count(at, period)
			want, held := 0, 0
			for _, x := range naive {
				if x.After(at.Add(-period)) {
					want++
				}
				if x.After(latest.Add(-period - clockSkew)) {
					held++
				}
			}
			if got != want {
				t.Fatalf("round %d step %d: count %d, naive %d", round, step, got, want)
			}
			if len(w.accepted) != held {
				t.Fatalf("round %d step %d: the window holds %d times, want %d (those after latest-period-clockSkew)", round, step, len(w.accepted), held)
			}
			w.record(at)
			naive = append(naive, at)
		}
	}
}

// TestADTClockStepKeepsCounts: a wall clock that steps forward and back
// again by up to clockSkew (an NTP correction) loses no count, so a burst
// over the quarantine threshold is refused AD1; a count far ahead still
// prunes the window.
func TestADTClockStepKeepsCounts(t *testing.T) {
	t.Parallel()
	const period = time.Hour
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		counts []time.Duration // counts after the five records at t0, as offsets from t0
		last   time.Duration   // the last count
		want   int
		held   int // times the window holds after the last count
	}{
		{"no step", nil, period - time.Minute, 5, 5},
		{"forward by a minute and back", []time.Duration{period + 30*time.Second}, period - 30*time.Second, 5, 5},
		{"forward by clockSkew and back", []time.Duration{period - time.Minute + clockSkew}, period - time.Minute, 5, 5},
		{"forward by clockSkew, back to the window's edge", []time.Duration{period - time.Nanosecond + clockSkew}, period, 0, 5},
		{"a count clockSkew past the window prunes", nil, period + clockSkew, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var w adtWindow
			for range 5 {
				w.record(t0)
			}
			for _, c := range tt.counts {
				w.count(t0.Add(c), period)
			}
			if got := w.count(t0.Add(tt.last), period); got != tt.want || len(w.accepted) != tt.held {
				t.Fatalf("count = %d holding %d, want %d holding %d", got, len(w.accepted), tt.want, tt.held)
			}
		})
	}

	// Through Verify: the scenario's SC user may send 5 1.6s an hour. Five
	// at t; one at t+1h+1m (the clock two minutes ahead: the five are
	// outside its window); the clock corrected, one at t+1h-30s has six in
	// its window and is refused.
	t.Run("Verify", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t)
		v := s.verifier(t, nil)
		credit := func(ctr uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false) }
		at := testNow.Add(time.Minute)
		for i := range uint64(5) {
			if d := v.Verify(credit(i+1), at); !d.Accepted() {
				t.Fatalf("request %d: %+v", i+1, d)
			}
		}
		if d := v.Verify(credit(6), at.Add(time.Hour+time.Minute)); !d.Accepted() {
			t.Fatalf("the request a period later: %+v", d)
		}
		if d := v.Verify(credit(7), at.Add(time.Hour-30*time.Second)); d.Code != CodeAD1 {
			t.Fatalf("after the clock stepped back: %s %q (%s), want AD1", d.Decision, d.Code, d.Reason)
		}
	})
}

func TestADTNanosOrder(t *testing.T) {
	times := []time.Time{
		{}, // year 1
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 6, 0, 0, 0, 1, time.UTC),
		time.Date(2026, 12, 6, 1, 0, 0, 2, time.FixedZone("x", 3600)), // 00:00:00.000000002 UTC,
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := adtNanos(times[i-1]), adtNanos(times[i])
		if a > b {
			t.Errorf("adtNanos(%v) = %d > adtNanos(%v) = %d", times[i-1], a, times[i], b)
		}
	}
	if got, want := adtNanos(times[3]), times[3].UnixNano(); got != want {
		t.Errorf("adtNanos in range = %d, want %d", got, want)
	}
}
