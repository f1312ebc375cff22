package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/migrate"
)

// benchCerts is the size of the store BenchmarkCopyIntoBolt copies
// (fill; SMKI_BENCH_CERTS overrides it).
func benchCerts() int {
	if n, err := strconv.Atoi(os.Getenv("SMKI_BENCH_CERTS")); err == nil && n > 0 {
		return n
	}
	return 50_000
}

// peakHeap samples the heap (objects live and not yet collected) every millisecond until stop is called
// and returns the highest figure seen, in bytes.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// BenchmarkCopyIntoBolt copies a store of benchCerts certificates into a
// new bbolt file as smki store migrate does (CopyToNewBolt), and, as the
// in-run baseline, with Copy into an opened bbolt file (one destination
// transaction); it reports the peak heap each adds to what was live
// before it (peak-heap-MB,
// baseline-peak-heap-MB) and their ratio: the figure that grows with the
// store when a copy holds it all in memory.
func BenchmarkCopyIntoBolt(b *testing.B) {
	n := benchCerts()
	src, err := bolt.Open(filepath.Join(b.TempDir(), "src.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	fill(b, src, n)
	if err := src.SealAudit(context.Background()); err != nil {
		b.Fatal(err)
	}
	measure := func(copyTo func(path string) error) uint64 {
		path := filepath.Join(b.TempDir(), "smki.db")
		// GC at 5% growth: the heap sampled is then what is live (plus
		// at most 5%), not garbage the collector has let pile up.
		defer debug.SetGCPercent(debug.SetGCPercent(5))
		runtime.GC()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		stop := peakHeap()
		if err := copyTo(path); err != nil {
			b.Fatal(err)
		}
		peak := stop()
		return peak - min(s[0].Value.Uint64(), peak) // what the copy added to what was live before
	}
	ctx := context.Background()
	b.StopTimer()
	base := measure(func(path string) error {
		dst, err := bolt.Open(path)
		if err != nil {
			return err
		}
		defer dst.Close()
		return migrate.Copy(ctx, src, dst)
	})
	b.ReportAllocs()
	b.StartTimer()
	var peak uint64
	for range b.N {
		peak = max(peak, measure(func(path string) error { return migrate.CopyToNewBolt(ctx, src, path) }))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base)/(1<<20), "baseline-peak-heap-MB")
	b.ReportMetric(float64(peak)/float64(base), "peak-ratio")
	b.ReportMetric(float64(n), "certs")
}
