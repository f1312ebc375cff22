package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

func testAudit(t *testing.T, s store.Store) {
	var appended []store.AuditEntry
	for i := 0; i < 5; i++ {
		update(t, s, func(tx store.Tx) error {
			e, err := tx.AppendAudit(store.AuditEntry{
				// Sub-microsecond times: engines must keep nanoseconds.
				Time: base.Add(time.Duration(i)*time.Second + time.Duration(i+1)), Actor: "ra-1",
				Action: "revoke", Subject: fmt.Sprintf("serial-%d", i), Result: "ok", Detail: "reason 5",
				Seq: 99, Hash: []byte("caller's hash is ignored"),
			})
			noErr(t, "AppendAudit", err)
			if e.Seq != uint64(i+1) {
				t.Fatalf("AppendAudit seq = %d, want %d", e.Seq, i+1)
			}
			if i == 0 && len(e.PrevHash) != 0 {
				t.Fatalf("first entry has PrevHash %x", e.PrevHash)
			}
			if i > 0 && !equalBytes(e.PrevHash, appended[i-1].Hash) {
				t.Fatalf("entry %d PrevHash does not link to entry %d", e.Seq, i)
			}
			if !equalBytes(e.Hash, store.HashAudit(e)) {
				t.Fatalf("entry %d Hash is not HashAudit", e.Seq)
			}
			appended = append(appended, e)
			return nil
		})
	}
	view(t, s, func(tx store.Tx) error {
		all, err := tx.AuditEntries(0, 0)
		noErr(t, "AuditEntries", err)
		same(t, "AuditEntries", all, appended)
		last, err := store.VerifyChain(nil, 1, all)
		noErr(t, "VerifyChain", err)
		if !equalBytes(last, appended[4].Hash) {
			t.Fatal("VerifyChain returned the wrong head")
		}
		page, err := tx.AuditEntries(3, 2)
		noErr(t, "AuditEntries(3, 2)", err)
		same(t, "AuditEntries(3, 2)", page, appended[2:4])
		// A page verifies from the hash of the entry before it.
		_, err = store.VerifyChain(appended[1].Hash, 3, page)
		noErr(t, "VerifyChain page", err)
		rest, err := tx.AuditEntries(6, 0)
		noErr(t, "AuditEntries past end", err)
		if len(rest) != 0 {
			t.Fatalf("AuditEntries(6) = %d entries", len(rest))
		}
		return nil
	})
}
