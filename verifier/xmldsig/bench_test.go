package xmldsig

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"sync"
	"testing"
)

// The budget: Parse+Verify of a signed 2 KB SR 1.6 at most 1.25x one raw
// P-256 ecdsa.Verify, measured in the same run. BenchmarkParseVerify
// reports its ratio to the baseline as the metric "x-ecdsa".

var (
	baselineOnce sync.Once
	baselineNs   float64
)

func ecdsaBaselineNs() float64 {
	baselineOnce.Do(func() {
		r := testing.Benchmark(BenchmarkECDSAP256Verify)
		baselineNs = float64(r.T.Nanoseconds()) / float64(r.N)
	})
	return baselineNs
}

func BenchmarkECDSAP256Verify(b *testing.B) {
	key, _ := testCert(b)
	h := sha256.Sum256([]byte("baseline"))
	r, s, err := ecdsa.Sign(nil, key, h[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !ecdsa.Verify(&key.PublicKey, h[:], new(big.Int).Set(r), s) {
			b.Fatal("baseline verify failed")
		}
	}
}

func BenchmarkParseVerify(b *testing.B) {
	key, cert := testCert(b)
	doc, err := Sign([]byte(sr16), key, cert, SignOptions{IncludeCertificate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d, err := Parse(doc, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.Verify(&key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/ecdsaBaselineNs(), "x-ecdsa")
	b.Logf("document %d bytes; ParseVerify %.1f us = %.3fx one ecdsa.Verify (%.1f us)", len(doc), per/1e3, per/ecdsaBaselineNs(), ecdsaBaselineNs()/1e3)
}

// BenchmarkParse is the XML cost alone (scan, shape and policy checks).
func BenchmarkParse(b *testing.B) {
	key, cert := testCert(b)
	doc, err := Sign([]byte(sr16), key, cert, SignOptions{IncludeCertificate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
