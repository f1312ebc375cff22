package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

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

	// In-run baseline: one ECDSA P-256 signature.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := sha256.Sum256([]byte("baseline"))
	const n = 200
	r := testing.Benchmark(func(bb *testing.B) {
		for i := 0; i < bb.N; i++ {
			if _, err := ecdsa.SignASN1(rand.Reader, key, h[:]); err != nil {
				bb.Fatal(err)
			}
		}
	})
	_ = n
	b.ReportMetric(perIssue/float64(r.NsPerOp()), "x-ecdsa-sign")
}
