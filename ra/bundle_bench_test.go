package ra

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// BenchmarkExportBundle measures building and signing the bundle from a
// store with 10,000 registered devices, against an in-run baseline: only
// marshalling the same bundle to JSON (the part no implementation avoids).
// The export sub-benchmark reports its ratio to the baseline (x-marshal).
func BenchmarkExportBundle(b *testing.B) {
	s := newSoLRScenario(b)
	s.withSigner()
	ctx := context.Background()
	importDevices(b, s, 10000)
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

// BenchmarkBundleBytesPerCert reports what each xml-signing certificate
// adds to the exported bundle (bytes-per-cert: the growth from the
// scenario's own bundle divided by the certificates added), in the
// embedded form (GET /v1/bundle, smki bundle export) and the compact one
// (GET /v1/bundle?certificates=omit, what a following sidecar fetches),
// at 1k, 10k and 100k certificates (issue 20). The certificates are
// store records carrying the DER of one the CA issued, under their own
// serials: the bytes are those of real certificates. compact-over-embedded
// is the ratio of the two bundles' sizes.
func BenchmarkBundleBytesPerCert(b *testing.B) {
	s := newSoLRScenario(b)
	s.withSigner()
	ctx := context.Background()
	tmpl := s.certStatus(s.isSerial)
	size := func(certs BundleCertificates) int {
		ans, err := s.svc.ExportBundleIf(ctx, s.admin, "", certs)
		if err != nil {
			b.Fatal(err)
		}
		return len(ans.Data)
	}
	base := map[BundleCertificates]int{BundleEmbedded: size(BundleEmbedded), BundleOmitted: size(BundleOmitted)}
	have := 0
	for _, n := range []int{1000, 10000, 100000} {
		err := s.st.Update(ctx, func(tx store.Tx) error {
			for ; have < n; have++ {
				c := tmpl
				c.Serial, c.IssuanceSeq = fmt.Sprintf("5b%018x", have), 0
				if err := tx.PutCertificate(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("certs=%d", n), func(b *testing.B) {
			var emb, com int
			for b.Loop() {
				emb, com = size(BundleEmbedded), size(BundleOmitted)
			}
			b.ReportMetric(float64(emb-base[BundleEmbedded])/float64(n), "embedded-bytes-per-cert")
			b.ReportMetric(float64(com-base[BundleOmitted])/float64(n), "compact-bytes-per-cert")
			b.ReportMetric(float64(emb)/1e6, "embedded-MB")
			b.ReportMetric(float64(com)/1e3, "compact-kB")
			b.ReportMetric(float64(com)/float64(emb), "compact-over-embedded")
		})
	}
}

// BenchmarkBundleRefresh: a verifier's conditional refresh of the compact
// bundle (GET /v1/bundle?certificates=omit with If-None-Match, answered
// 304) after 100,000 certificates of one party were revoked, with 10,000
// registered devices: the RA still builds the bundle to compare its
// content, once per refresh of every verifier. In "party" the party
// failed (a Supplier of Last Resort event): its certificates were revoked
// with a party-wide revocation record, which the compact form carries
// instead of their entries; in "individual" each was revoked on its own.
// ns/op is one refresh; the baseline, measured in the same run, is only
// listing the revoked certificates from the store in one read (x-list:
// the refresh as a multiple of it). compact-MB is the size of the bundle
// a full refresh transfers.
func BenchmarkBundleRefresh(b *testing.B) {
	for _, party := range []bool{true, false} {
		name := "individual"
		if party {
			name = "party"
		}
		b.Run(name, func(b *testing.B) { benchBundleRefresh(b, party) })
	}
}

func benchBundleRefresh(b *testing.B, party bool) {
	s := newSoLRScenario(b)
	s.withSigner()
	ctx := context.Background()
	importDevices(b, s, 10000)
	const n = 100000
	tmpl := s.certStatus(s.isSerial)
	serials := make([]string, n)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for i := range serials {
			c := tmpl
			c.Serial, c.IssuanceSeq, c.KeyHash = fmt.Sprintf("5c%018x", i), 0, fmt.Sprintf("%064x", i)
			serials[i] = c.Serial
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		if _, err := tx.RevokeMany(serials, reasonCessation, now); err != nil {
			return err
		}
		if !party {
			return nil
		}
		return records.PutPartyRevocation(tx, s.supplier, records.PartyIssuedBefore([]store.Certificate{tmpl}, now), now, reasonCessation)
	})
	if err != nil {
		b.Fatal(err)
	}
	full, err := s.svc.ExportBundleIf(ctx, s.admin, "", BundleOmitted)
	if err != nil {
		b.Fatal(err)
	}
	list := func() time.Duration {
		start := time.Now()
		err := s.st.View(ctx, func(tx store.Tx) error {
			got, err := tx.ListCertificates(store.CertFilter{Status: store.StatusRevoked})
			if len(got) < n {
				return fmt.Errorf("%d revoked certificates listed, want at least %d", len(got), n)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	base := list()
	b.ResetTimer()
	for b.Loop() {
		ans, err := s.svc.ExportBundleIf(ctx, s.admin, full.ETag, BundleOmitted)
		if err != nil {
			b.Fatal(err)
		}
		if !ans.NotModified {
			b.Fatal("the refresh of an unchanged bundle was not answered Not Modified")
		}
	}
	b.StopTimer()
	base = min(base, list())
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(base), "x-list")
	b.ReportMetric(float64(len(full.Data))/1e6, "compact-MB")
}

// BenchmarkBundleDevices1M measures what the device registry costs the
// bundle at 1,000,000 registered devices (the 1M-row import of issue 16),
// in the compact form a following sidecar fetches: bytes-per-device (the
// growth over the scenario's own bundle), compact-MB, devices-at-cap (how
// many devices fill bundle.MaxBundleSize at that rate, past which every
// verifier refuses the bundle), export-s (the RA building and signing a
// bundle after a change, what every device import costs each refresh),
// open-s and open-alloc-MB (a verifier checking and decoding it,
// bundle.Open), and open-over-export, the ratio of the two in this run. The
// registry rides whole in every bundle (docs/bundle.md, "Size"); these
// figures say at what scale that stops holding.
func BenchmarkBundleDevices1M(b *testing.B) {
	s := newSoLRScenario(b)
	s.withSigner()
	ctx := context.Background()
	empty, err := s.svc.ExportBundleIf(ctx, s.admin, "", BundleOmitted)
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000000
	importDevices(b, s, n)
	var size int
	var export, open time.Duration
	var alloc uint64
	for b.Loop() {
		start := time.Now()
		ans, err := s.svc.ExportBundleIf(ctx, s.admin, "", BundleOmitted)
		if err != nil {
			b.Fatal(err)
		}
		export += time.Since(start)
		size = len(ans.Data)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start = time.Now()
		bd, err := bundle.Open(ans.Data, s.roots(), s.clock.Now())
		open += time.Since(start)
		runtime.ReadMemStats(&m1)
		alloc += m1.TotalAlloc - m0.TotalAlloc
		if err != nil || len(bd.Devices) < n {
			b.Fatalf("bundle.Open: %v, %d devices, want at least %d", err, len(bd.Devices), n)
		}
	}
	per := float64(size-len(empty.Data)) / n
	b.ReportMetric(per, "bytes-per-device")
	b.ReportMetric(float64(size)/1e6, "compact-MB")
	b.ReportMetric(float64(bundle.MaxBundleSize)/per, "devices-at-cap")
	b.ReportMetric(export.Seconds()/float64(b.N), "export-s")
	b.ReportMetric(open.Seconds()/float64(b.N), "open-s")
	b.ReportMetric(float64(alloc)/float64(b.N)/(1<<20), "open-alloc-MB")
	b.ReportMetric(float64(open)/float64(export), "open-over-export")
}

// importDevices registers n devices, each with s's IS user as its
// supplier, through the RA's import.
func importDevices(b *testing.B, s *solrScenario, n int) {
	b.Helper()
	var csv strings.Builder
	csv.WriteString(devicefile.Header + "\n")
	for i := range n {
		var id eui64.ID
		id[0], id[5], id[6], id[7] = 0x00, byte(i>>16), byte(i>>8), byte(i)
		id[1] = 0xDB
		fmt.Fprintf(&csv, "%s,%s,%d\n", id, s.userIS, 1+i%2)
	}
	if _, err := s.svc.ImportDevices(context.Background(), s.admin, []byte(csv.String())); err != nil {
		b.Fatal(err)
	}
}
