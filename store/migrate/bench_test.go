package migrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/migrate"
)

// benchCerts is the size of the store BenchmarkCopyIntoBolt copies
// (SMKI_BENCH_CERTS overrides it): certificates with a 700-byte DER, as
// smki's are, each with its completed intent and an audit entry.
func benchCerts() int {
	if n, err := strconv.Atoi(os.Getenv("SMKI_BENCH_CERTS")); err == nil && n > 0 {
		return n
	}
	return 50_000
}

// fillBench writes n certificates into st, 5,000 per transaction.
func fillBench(b *testing.B, st store.Store, n int) {
	b.Helper()
	der := make([]byte, 700)
	for start := 0; start < n; start += 5000 {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			if start == 0 {
				if err := tx.CreateParty(store.Party{ID: "90-B3-D5-1F-00-00-00-01", Name: "p", Status: "active", CreatedAt: base}); err != nil {
					return err
				}
			}
			for i := start; i < min(n, start+5000); i++ {
				serial := fmt.Sprintf("%032x", i+1)
				at := base.Add(time.Duration(i) * time.Nanosecond)
				if err := tx.CreateIntent(store.Intent{Serial: serial, Issuer: "issuing-ca", Profile: "xml-signing",
					UserID: "u", CreatedAt: at, State: store.IntentOpen}); err != nil {
					return err
				}
				if err := tx.PutCertificate(store.Certificate{Serial: serial, Issuer: "issuing-ca", UserID: "u",
					PartyID: "90-B3-D5-1F-00-00-00-01", Profile: "xml-signing", Role: "SC", KeyHash: fmt.Sprintf("%064x", i),
					NotBefore: at, NotAfter: at.AddDate(1, 0, 0), IssuedAt: at, DER: der}); err != nil {
					return err
				}
				if err := tx.SetIntentState(serial, store.IntentCompleted); err != nil {
					return err
				}
				if _, err := tx.AppendAudit(store.AuditEntry{Time: at, Actor: "t", Action: "issue", Subject: serial}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := st.SealAudit(context.Background()); err != nil {
		b.Fatal(err)
	}
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
	fillBench(b, src, n)
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
