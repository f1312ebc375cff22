package raserver

import (
	"context"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestCommitCounter: BenchmarkEnrolHTTPS's commit figures (count, time
// inside Update, per-commit mean) for a part between two marks.
func TestCommitCounter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		before  int // Updates before the mark
		after   []time.Duration
		wantN   int64
		minMean float64 // microseconds
	}{
		{"none", 2, nil, 0, 0},
		{"one", 0, []time.Duration{2 * time.Millisecond}, 1, 2000},
		{"three after two", 2, []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}, 3, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &commitCounter{Store: nopUpdater{}}
			ctx := context.Background()
			for range tc.before {
				c.Update(ctx, func(store.Tx) error { return nil })
			}
			m := c.mark()
			for _, d := range tc.after {
				c.Update(ctx, func(store.Tx) error { time.Sleep(d); return nil })
			}
			got := c.since(m)
			if got.n != tc.wantN {
				t.Fatalf("n = %d, want %d", got.n, tc.wantN)
			}
			if mean := got.usPer(); mean < tc.minMean || (tc.wantN > 0 && mean > tc.minMean*50) {
				t.Errorf("usPer = %v, want about %v", mean, tc.minMean)
			}
			if sum := got.plus(got); sum.n != 2*got.n || sum.in != 2*got.in {
				t.Errorf("plus = %+v, want twice %+v", sum, got)
			}
		})
	}
}

// nopUpdater is a store whose Update runs fn with no transaction.
type nopUpdater struct{ store.Store }

func (nopUpdater) Update(_ context.Context, fn func(store.Tx) error) error { return fn(nil) }
