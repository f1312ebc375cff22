package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestTwoInstancesAuditChainNeverForks: two Stores on one database (two
// smki serve instances) append audit entries at once, in transactions
// (AppendAudit) and group-committed (Audit), while both seal on their own
// timers and on demand: the chain holds every entry once, in one line
// from entry 1 (no seq twice, no two entries on one predecessor).
func TestTwoInstancesAuditChainNeverForks(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	ctx := context.Background()
	a, b := openURL(t, u), openURL(t, u)
	const workers, each = 4, 40
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for i, s := range []*struct {
		name string
		st   store.Store
	}{{"a", a}, {"b", b}} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range each {
					e := store.AuditEntry{Time: base, Actor: s.name, Action: "x", Subject: fmt.Sprintf("%d/%d", w, k)}
					var err error
					if k%2 == 0 {
						err = s.st.Update(ctx, func(tx store.Tx) error { _, err := tx.AppendAudit(e); return err })
					} else {
						err = s.st.Audit(ctx, e)
					}
					if err == nil && k%10 == i {
						err = s.st.SealAudit(ctx)
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range []store.Store{a, b} {
		if err := s.SealAudit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var all []store.AuditEntry
	if err := b.View(ctx, func(tx store.Tx) (err error) { all, err = tx.AuditEntries(1, 0); return err }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*workers*each {
		t.Fatalf("%d audit entries, want %d", len(all), 2*workers*each)
	}
	seen := map[string]bool{}
	for _, e := range all {
		k := e.Actor + ":" + e.Subject
		if seen[k] {
			t.Fatalf("entry %s chained twice", k)
		}
		seen[k] = true
	}
	if _, err := store.VerifyChain(nil, 1, all); err != nil {
		t.Fatalf("the chain forked or broke: %v", err)
	}
}
