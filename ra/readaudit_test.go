package ra

import (
	"context"
	"sync"
	"testing"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestFinding10ReadsStillAudited is issue 12's finding 10's other half:
// reads no longer wait behind issuance commits (their records go through
// the store's batched Store.Audit instead of an Update; the ratio is
// store/bolt's BenchmarkReadUnderIssuance), yet every read, however many
// run at once, leaves its own "allowed" record in the chain.
func TestFinding10ReadsStillAudited(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	const reads = 24
	var wg sync.WaitGroup
	errs := make(chan error, reads)
	for i := 0; i < reads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.svc.GetUser(ctx, s.aroSup, s.userIS)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.st.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range ratest.AuditTail(s.t, s.st, 1<<20) {
		if e.Actor == "aro-a" && e.Action == string(ActReadParty) && e.Subject == "user:"+s.userIS.String() && e.Result == "allowed" {
			got++
		}
	}
	if got != reads {
		t.Fatalf("%d reads left %d allowed records; want one each", reads, got)
	}
	var all []store.AuditEntry
	if err := s.st.View(ctx, func(tx store.Tx) error { var err error; all, err = tx.AuditEntries(1, 0); return err }); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if string(all[i].PrevHash) != string(all[i-1].Hash) {
			t.Fatalf("chain broken at entry %d", all[i].Seq)
		}
	}
}
