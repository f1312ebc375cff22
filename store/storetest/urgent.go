package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// testUrgent: Urgent is a transaction like Update (atomic, read-write,
// visible after commit), and a party revocation in it succeeds at its
// first attempt while several goroutines issue into another party, with
// every sequence number still gap-free.
func testUrgent(t *testing.T, s store.Store) {
	ctx := context.Background()
	cs := putCerts(t, s, 300)
	err := s.Urgent(ctx, func(tx store.Tx) error {
		if err := tx.PutMeta("u", []byte("doomed")); err != nil {
			return err
		}
		if _, err := tx.Revoke(cs[0].Serial, 1, base); err != nil {
			return err
		}
		return errAbort
	})
	wantErr(t, "Urgent returning an error", err, errAbort)
	view(t, s, func(tx store.Tx) error {
		_, err := tx.GetMeta("u")
		wantErr(t, "meta after a failed Urgent", err, store.ErrNotFound)
		c, err := tx.GetCertificate(cs[0].Serial)
		noErr(t, "GetCertificate", err)
		if c.Status != store.StatusGood {
			t.Fatal("a failed Urgent left a revocation behind")
		}
		return nil
	})

	stop := make(chan struct{})
	wait := IssueLoad(ctx, s, workers, eui(), stop)
	time.Sleep(50 * time.Millisecond)
	var attempts atomic.Int32
	var revs []store.Revocation
	err = s.Urgent(ctx, func(tx store.Tx) error {
		attempts.Add(1)
		var err error
		revs, err = tx.RevokeMany(serials(cs), 5, base)
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(store.AuditEntry{Time: base, Actor: "sro", Action: "revoke.party", Subject: cs[0].PartyID})
		return err
	})
	close(stop)
	issued, ierr := wait()
	noErr(t, "party revocation under issuance", err)
	noErr(t, "issuance during the revocation", ierr)
	if attempts.Load() != 1 {
		t.Fatalf("the revocation ran %d times; an Urgent transaction must not be retried because of issuance", attempts.Load())
	}
	for i, r := range revs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("revocation %d has seq %d", i, r.Seq)
		}
	}
	all := sealed(t, s)
	if len(all) != issued+1 {
		t.Fatalf("%d audit entries, want %d issuances and the revocation", len(all), issued)
	}
	_, err = store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain", err)
}
