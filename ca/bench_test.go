package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// BenchmarkIssue measures CSR to recorded certificate on a bbolt store in
// b.TempDir (CSR generation is outside the timer). It reports the ratio to a
// raw ECDSA P-256 signature measured in the same run, the physical floor of
// issuance.
func BenchmarkIssue(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	csrs := make([]IssueRequest, b.N)
	for i := range csrs {
		_, csr := newCSR(b, nil)
		id := eui64.ID{0x90, 0xB3, byte(i >> 40), byte(i >> 32), byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		csrs[i] = issueReq(csr, XMLSigning, id, partySRP, role.SoLRContingency)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := e.ca.Issue(ctx, csrs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perIssue := float64(b.Elapsed().Nanoseconds()) / float64(b.N)

	// In-run baseline: one ECDSA P-256 signature, timed by hand
	// (testing.Benchmark cannot nest inside a running benchmark).
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := sha256.Sum256([]byte("baseline"))
	const n = 500
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := ecdsa.SignASN1(rand.Reader, key, h[:]); err != nil {
			b.Fatal(err)
		}
	}
	perSign := float64(time.Since(start).Nanoseconds()) / n
	b.ReportMetric(perIssue/perSign, "x-ecdsa-sign")
}
