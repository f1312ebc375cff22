package verifier

import (
	"crypto/rand"
	"crypto/x509"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/role"
)

// BenchmarkSidecarBundle50k measures what a sidecar spends on the bundle
// with 50,000 xml-signing certificates issued (issue 20), in the embedded
// form (every certificate in the bundle) and the compact one (none: each
// signer looked up once, docs/verifier.md): start (open the envelope and
// build the Verifier) and a refresh that brings a new bundle (open and
// install it; a refresh answered 304 costs neither). Metrics: wall ms and
// this process's CPU ms per operation, and, on the compact runs,
// x-embedded-cpu: the embedded run's CPU per operation over the compact
// one's, in the same run.
func BenchmarkSidecarBundle50k(b *testing.B) {
	const n = 50000
	s := newScenario(b)
	key := mustKey(b)
	tmpl := &x509.Certificate{Subject: subjectWithUID(userB.Hex(), role.RPXMLSign.OU(), userB),
		NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		SubjectKeyId: skid(&key.PublicKey)}
	embedded := s.baseBundle()
	for range n {
		tmpl.SerialNumber = serial(b)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, s.pki.ca, &key.PublicKey, s.pki.caKey)
		if err != nil {
			b.Fatal(err)
		}
		embedded.Certificates = append(embedded.Certificates, der)
	}
	compact := s.baseBundle()
	compact.Certificates = nil
	signed := map[string][]byte{}
	for name, bd := range map[string]*bundle.Bundle{"embedded": embedded, "compact": compact} {
		data, err := bundle.Sign(bd, s.bundleSigner.key, []*x509.Certificate{s.bundleSigner.cert, s.pki.ca})
		if err != nil {
			b.Fatal(err)
		}
		signed[name] = data
	}
	b.Logf("bundle with %d certificates: embedded %d bytes, compact %d bytes", n, len(signed["embedded"]), len(signed["compact"]))
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	open := func(b *testing.B, form string) *bundle.Bundle {
		bd, err := bundle.Open(signed[form], roots, testNow)
		if err != nil {
			b.Fatal(err)
		}
		return bd
	}
	cpuOf := map[string]float64{}
	measure := func(b *testing.B, key string, op func(b *testing.B)) {
		start, cpu0 := time.Now(), processCPUNanos()
		for b.Loop() {
			op(b)
		}
		wall, cpu := float64(time.Since(start).Nanoseconds())/float64(b.N), float64(processCPUNanos()-cpu0)/float64(b.N)
		b.ReportMetric(wall/1e6, "ms")
		b.ReportMetric(cpu/1e6, "cpu-ms")
		cpuOf[key] = cpu
	}
	for _, form := range []string{"embedded", "compact"} {
		b.Run("start/"+form, func(b *testing.B) {
			measure(b, "start/"+form, func(b *testing.B) {
				o := s.options(open(b, form))
				o.Source = newFakeSource()
				if _, err := New(o); err != nil {
					b.Fatal(err)
				}
			})
			if e := cpuOf["start/embedded"]; form == "compact" && e > 0 {
				b.ReportMetric(e/cpuOf["start/compact"], "x-embedded-cpu")
			}
		})
	}
	for _, form := range []string{"embedded", "compact"} {
		b.Run("refresh/"+form, func(b *testing.B) {
			o := s.options(open(b, form))
			o.Source = newFakeSource()
			v, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			measure(b, "refresh/"+form, func(b *testing.B) {
				if err := v.SetBundle(open(b, form)); err != nil {
					b.Fatal(err)
				}
			})
			if e := cpuOf["refresh/embedded"]; form == "compact" && e > 0 {
				b.ReportMetric(e/cpuOf["refresh/compact"], "x-embedded-cpu")
			}
		})
	}
}

// processCPUNanos is this process's user and system CPU time so far.
func processCPUNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
