package groupcommit

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatchesConcurrentAdds: every item is written exactly once, and
// callers arriving during a slow write share the next write.
func TestBatchesConcurrentAdds(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[int]int{}
	writes := 0
	b := New(func(_ context.Context, items []int) error {
		time.Sleep(5 * time.Millisecond) // an fsync
		mu.Lock()
		defer mu.Unlock()
		writes++
		for _, it := range items {
			seen[it]++
		}
		return nil
	})
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Add(context.Background(), i); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if seen[i] != 1 {
			t.Fatalf("item %d written %d times", i, seen[i])
		}
	}
	if writes >= n/2 {
		t.Fatalf("%d writes for %d concurrent items: not batched", writes, n)
	}
}

// TestWriteErrorReachesItsBatch: a failed write fails the callers in that
// batch, and the next batch is written afresh.
func TestWriteErrorReachesItsBatch(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	fail := true
	b := New(func(_ context.Context, items []string) error {
		if fail {
			fail = false
			return boom
		}
		return nil
	})
	if err := b.Add(context.Background(), "a"); !errors.Is(err, boom) {
		t.Fatalf("first Add = %v, want %v", err, boom)
	}
	if err := b.Add(context.Background(), "b"); err != nil {
		t.Fatalf("second Add = %v", err)
	}
}

// TestBatchTakesRunnable: callers that are all ready to run at once share
// one write. On one P the first caller to run leads; without its yield
// before taking the batch it wrote a batch of one and the rest a second
// batch, two writes every time.
func TestBatchTakesRunnable(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var writes atomic.Int64
	b := New(func(_ context.Context, items []int) error {
		writes.Add(1)
		time.Sleep(time.Millisecond) // an fsync
		return nil
	})
	const callers = 8
	var got []int64
	for trial := range 5 {
		before := writes.Load()
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				if err := b.Add(context.Background(), trial*callers+i); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got = append(got, writes.Load()-before)
		if got[trial] == 1 {
			return
		}
	}
	t.Errorf("%d callers all runnable at once took %v writes in five trials, never one", callers, got)
}
