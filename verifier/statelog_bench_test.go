package verifier

import (
	"crypto/ecdsa"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
)

// ecdsaNanos is the mean wall time of one raw P-256 verify over n, the
// in-run baseline of the state log's benchmarks.
func ecdsaNanos(b *testing.B, n int) float64 {
	pub, h, sig := ecdsaFixture(b)
	t0 := time.Now()
	for range n {
		if !ecdsa.VerifyASN1(pub, h, sig) {
			b.Fatal("baseline verify failed")
		}
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// BenchmarkStateGroupEnd is the CPU the state log's G line (format 3: the
// group's sequence and the CRC-32C of its bytes) adds to one group of
// records, at the group sizes BenchmarkSidecarThroughput sees (8 and 30
// records a group at 16 and 64 clients): gline-ns/group, and per accept
// as a share of one raw ECDSA verify measured in the same run
// (gline-per-accept/ecdsa).
func BenchmarkStateGroupEnd(b *testing.B) {
	for _, records := range []int{8, 30} {
		b.Run(fmt.Sprintf("records=%d", records), func(b *testing.B) {
			var buf []byte
			for i := range records {
				buf = appendCounter(buf, eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x31, 0, 0, byte(i)}, uint64(1_000_000+i))
			}
			n := len(buf)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				buf = appendGroupEnd(buf[:n], 0, uint64(i))
			}
			b.StopTimer()
			per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(per, "gline-ns/group")
			b.ReportMetric(per/float64(records)/ecdsaNanos(b, 200), "gline-per-accept/ecdsa")
		})
	}
}

// BenchmarkStateMark is one write of FILE.mark (durable.Replace: write,
// fsync, rename, directory fsync), which the flusher does at most once a
// second (markEvery) after a group's waiters are released: mark-us, and
// its share of the flusher's time at one mark a second
// (mark-share-of-second).
func BenchmarkStateMark(b *testing.B) {
	st, err := OpenStateFile(filepath.Join(b.TempDir(), "state.log"), StateFileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	for b.Loop() {
		if err := st.writeMark(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/1e3, "mark-us")
	b.ReportMetric(per/float64(markEvery.Nanoseconds()), "mark-share-of-second")
}
