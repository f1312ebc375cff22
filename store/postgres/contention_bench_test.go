package postgres_test

import (
	"context"
	"testing"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/storetest"
)

// BenchmarkScaleOut is issue 13's first acceptance figure at the store:
// the RA's request mix (50% audited certificate reads, 50% issuances,
// each issuance the CA's two transactions) from 16 clients, first
// against one Store, then against two Stores (two instances' pools) on
// the same schema, 8 clients each, in the same run. It reports both
// throughputs, their ratio (x-two-over-one, the target is >= 0.9 on one
// machine), the errors (must be 0) and the reads' p99 latency.
func BenchmarkScaleOut(b *testing.B) {
	const clients, ops = 16, 60
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		var res [2]storetest.Mix
		for n := 1; n <= 2; n++ {
			u := schemaURL(b)
			stores := make([]store.Store, n)
			for j := range stores {
				stores[j] = openURL(b, u)
			}
			storetest.SetupLoad(b, stores[0])
			seed := storetest.PutParty(b, stores[0], "P-SEED", 200)
			res[n-1] = storetest.RunMix(ctx, stores, clients/n, ops, "P-LOAD", seed)
		}
		one, two := res[0], res[1]
		if one.Errors+two.Errors > 0 {
			b.Errorf("errors: one instance %d/%d (%v), two instances %d/%d (%v)",
				one.Errors, one.Ops, one.FirstError, two.Errors, two.Ops, two.FirstError)
		}
		b.Logf("one instance: %.0f ops/s, %d/%d errors; two instances: %.0f ops/s, %d/%d errors; ratio %.2f; read p99 %v (one), %v (two)",
			one.PerSecond(), one.Errors, one.Ops, two.PerSecond(), two.Errors, two.Ops, two.PerSecond()/one.PerSecond(),
			storetest.P99(one.ReadLatencies), storetest.P99(two.ReadLatencies))
		b.ReportMetric(one.PerSecond(), "ops/s-one")
		b.ReportMetric(two.PerSecond(), "ops/s-two")
		b.ReportMetric(two.PerSecond()/one.PerSecond(), "x-two-over-one")
		b.ReportMetric(float64(one.Errors+two.Errors), "errors")
		b.ReportMetric(float64(storetest.P99(two.ReadLatencies).Microseconds())/1000, "ms-read-p99-two")
	}
}

// BenchmarkRevokeUnderLoad is issue 13's second acceptance figure at the
// store (storetest.RevokeUnderLoad): a party revocation of 10,000
// certificates in one Urgent transaction, idle and then while 8
// goroutines issue into another party; target ratio <= 2, one attempt.
func BenchmarkRevokeUnderLoad(b *testing.B) {
	storetest.RevokeUnderLoad(b, func(b *testing.B) store.Store { return openURL(b, schemaURL(b)) }, 10_000, 8)
}
