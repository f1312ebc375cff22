package ra

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/devicefile"
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
	csv.WriteString(devicefile.Header + "\n")
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

// BenchmarkImportDevices imports 100,000 devices per iteration with every
// registration column filled (export supplier, network operator, an
// effective_from), against the same rows in the three-column format in the
// same run (x-plain), and reports rows/s and the seconds a 1M-row file
// takes at that rate (issue 16: under a minute).
func BenchmarkImportDevices(b *testing.B) {
	s := newSoLRScenario(b)
	ctx := context.Background()
	es := s.user("90-B3-D5-1F-30-06-00-02", s.otherSupplier, "ES")
	ed := s.user("90-B3-D5-1F-30-06-00-01", s.otherSupplier, "ED")
	const rows = 100000
	file := func(full bool, gen int) []byte {
		var csv strings.Builder
		if full {
			csv.WriteString(devicefile.HeaderRegistrations + "\n")
		} else {
			csv.WriteString(devicefile.Header + "\n")
		}
		for i := range rows {
			var id eui64.ID
			id[0], id[1], id[4], id[5], id[6], id[7] = 0x00, 0xDB, byte(gen), byte(i>>16), byte(i>>8), byte(i)
			if full {
				fmt.Fprintf(&csv, "%s,%s,%d,%s,,%s,2026-01-01T00:00:00Z\n", id, s.userIS, 1+i%2, es, ed)
			} else {
				fmt.Fprintf(&csv, "%s,%s,%d\n", id, s.userIS, 1+i%2)
			}
		}
		return []byte(csv.String())
	}
	var plain time.Duration
	gen := 0
	b.Run("plain", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			gen++
			if _, err := s.svc.ImportDevices(ctx, s.admin, file(false, gen)); err != nil {
				b.Fatal(err)
			}
		}
		plain = time.Since(start) / time.Duration(b.N)
	})
	b.Run("registrations", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			gen++
			if _, err := s.svc.ImportDevices(ctx, s.admin, file(true, gen)); err != nil {
				b.Fatal(err)
			}
		}
		d := time.Since(start) / time.Duration(b.N)
		b.ReportMetric(rows/d.Seconds(), "rows/s")
		b.ReportMetric(d.Seconds()*1e6/rows, "s-per-1M")
		if plain > 0 {
			b.ReportMetric(float64(d)/float64(plain), "x-plain")
		}
	})
}
