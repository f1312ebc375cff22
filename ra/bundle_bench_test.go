package ra

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
)

// BenchmarkExportBundle measures building and signing the bundle from a
// store with 10,000 registered devices, against an in-run baseline: only
// marshalling the same bundle to JSON (the part no implementation avoids).
// The export sub-benchmark reports its ratio to the baseline (x-marshal).
func BenchmarkExportBundle(b *testing.B) {
	s := newSoLRScenario(b)
	s.withSigner()
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString(DeviceHeader + "\n")
	for i := range 10000 {
		var id eui64.ID
		id[0], id[5], id[6], id[7] = 0x00, byte(i>>16), byte(i>>8), byte(i)
		id[1] = 0xDB
		fmt.Fprintf(&csv, "%s,%s,%d\n", id, s.userIS, 1+i%2)
	}
	if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(csv.String())); err != nil {
		b.Fatal(err)
	}
	bundle, err := s.svc.BuildBundle(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var base time.Duration
	b.Run("baseline-marshal", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := json.Marshal(bundle); err != nil {
				b.Fatal(err)
			}
		}
		base = time.Since(start) / time.Duration(b.N)
	})
	b.Run("export", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := s.svc.ExportBundle(ctx, s.admin); err != nil {
				b.Fatal(err)
			}
		}
		full := time.Since(start) / time.Duration(b.N)
		if base > 0 {
			b.ReportMetric(float64(full)/float64(base), "x-marshal")
		}
	})
}
