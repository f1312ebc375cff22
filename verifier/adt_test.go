package verifier

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestADTWindowMatchesNaive drives adtWindow and a plain list of
// time.Time through the same random records and counts (out-of-order
// times, repeated times, times exactly on the window's edge) and requires
// the same count every time.
func TestADTWindowMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 16))
	base := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	const period = 10 * time.Second
	for round := range 50 {
		var w adtWindow
		var naive []time.Time
		at := base
		for step := range 400 {
			switch rng.IntN(4) {
			case 0: // a later request
				at = at.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			case 1: // an earlier one (the caller's clock is not ours)
				at = at.Add(-time.Duration(rng.IntN(2000)) * time.Millisecond)
			case 2: // exactly on the edge of an earlier entry's window
				if len(naive) > 0 {
					at = naive[rng.IntN(len(naive))].Add(period)
				}
			}
			got := w.count(at, period)
			kept := naive[:0]
			for _, x := range naive {
				if x.After(at.Add(-period)) {
					kept = append(kept, x)
				}
			}
			naive = kept
			if got != len(naive) {
				t.Fatalf("round %d step %d: count %d, naive %d", round, step, got, len(naive))
			}
			w.record(at)
			naive = append(naive, at)
		}
	}
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
