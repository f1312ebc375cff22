package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// BenchmarkIssuanceGroup is the store's part of BenchmarkDurableIssue
// (ca) at its concurrency, without the CA's CPU: each transaction creates
// the intents of groupSize issuances and records the certificates of the
// previous group (store.CreateIntents, store.RecordIssued and an audit
// entry each), as the CA's group commit fills one with 8 issuers. It
// reports this process's CPU time per issuance (cpu-us/issue) and bbolt's
// pages written (pages/commit) and nodes materialised (nodes/issue).
func BenchmarkIssuanceGroup(b *testing.B) {
	const groupSize = 5
	s, err := bolt.Open(filepath.Join(b.TempDir(), "smki.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	serials := make([]string, b.N)
	for i := range serials {
		serials[i] = benchSerial(b)
	}
	intent := func(i int) store.NewIntent {
		return store.NewIntent{KeyHash: serials[i], Intent: store.Intent{Serial: serials[i], Issuer: "issuing-ca",
			Profile: "xml-signing", UserID: fmt.Sprintf("U-%08d", i), LintDER: make([]byte, 600), CreatedAt: benchAt, State: store.IntentOpen}}
	}
	cert := func(i int) store.Certificate {
		return benchCert(serials[i], fmt.Sprintf("U-%08d", i), "P")
	}
	st0 := bolt.DBStats(s)
	commits := 0
	b.ResetTimer()
	cpu0 := processCPU()
	for start := 0; start < b.N+groupSize; start += groupSize {
		var ins []store.NewIntent
		for i := start; i < min(start+groupSize, b.N); i++ {
			ins = append(ins, intent(i))
		}
		var recs []store.Certificate
		for i := start - groupSize; i >= 0 && i < start && i < b.N; i++ {
			recs = append(recs, cert(i))
		}
		err := s.Update(ctx, func(tx store.Tx) error {
			errs, err := store.CreateIntents(tx, ins)
			if err != nil {
				return err
			}
			for _, e := range errs {
				if e != nil {
					return e
				}
			}
			if errs, err = store.RecordIssued(tx, recs); err != nil {
				return err
			}
			for _, e := range errs {
				if e != nil {
					return e
				}
			}
			for _, c := range recs {
				if _, err := tx.AppendAudit(store.AuditEntry{Time: benchAt, Actor: "ca", Action: "issue", Subject: c.Serial, Result: "ok"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		commits++
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	st1 := bolt.DBStats(s)
	d := st1.TxStats.Sub(&st0.TxStats)
	b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-us/issue")
	b.ReportMetric(float64(d.GetWrite())/float64(commits), "pages/commit")
	b.ReportMetric(float64(d.GetNodeCount())/float64(b.N), "nodes/issue")
}

func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
