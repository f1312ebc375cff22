package ratest

import (
	"context"
	"testing"

	"github.com/smki/smki/store"
)

// AuditTail returns the last n entries of st's audit log, oldest first
// (all of them if there are fewer); a store failure fails t. It seals
// the audit journal first (Store.SealAudit): PostgreSQL lists an entry
// only once it is sealed, a short delay after its commit.
func AuditTail(t testing.TB, st store.Store, n int) []store.AuditEntry {
	t.Helper()
	if err := st.SealAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	var all []store.AuditEntry
	if err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		all, err = tx.AuditEntries(1, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) < n {
		return all
	}
	return all[len(all)-n:]
}

// AuditLen returns the number of entries in st's audit log: a test that
// feeds the RA malformed input checks it is unchanged.
func AuditLen(t testing.TB, st store.Store) int {
	t.Helper()
	return len(AuditTail(t, st, 1<<30))
}
