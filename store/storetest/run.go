package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/smki/smki/store"
)

// Run runs the conformance suite against stores made by open. open must
// return a fresh, empty store for the test it is given, register its own
// cleanup (t.Cleanup) and tolerate the test having closed the store. Each
// subtest gets its own store and runs in parallel with the others.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Meta", testMeta},
		{"Intents", testIntents},
		{"Certificates", testCertificates},
		{"ListCertificates", testListCertificates},
		{"IssuanceSeq", testIssuanceSeq},
		{"IssueBatch", testIssueBatch},
		{"WriteIssuance", testWriteIssuance},
		{"GrouperIssuance", testGrouperIssuance},
		{"GrouperConflicts", testGrouperConflicts},
		{"BadInputWritesNothing", testBadInput},
		{"Revoke", testRevoke},
		{"CRL", testCRL},
		{"Parties", testParties},
		{"Users", testUsers},
		{"Prefetch", testPrefetch},
		{"PrefetchSeesWrites", testPrefetchSeesWrites},
		{"Officers", testOfficers},
		{"Audit", testAudit},
		{"AppendAudits", testAppendAudits},
		{"AuditBatched", testAuditBatched},
		{"AuditNotText", testAuditNotText},
		{"AuditSealMonitor", testAuditSealMonitor},
		{"Urgent", testUrgent},
		{"RevocationWaitsForReader", testRevocationWaitsForReader},
		{"RevocationNotStarvedByReaders", testRevocationNotStarvedByReaders},
		{"Records", testRecords},
		{"UpdateIsAtomic", testAtomic},
		{"ViewIsReadOnly", testViewReadOnly},
		{"CanceledContext", testCanceled},
		{"ConcurrentIssuance", testConcurrentIssuance},
		{"ConcurrentRevocationSeq", testConcurrentRevocations},
		{"ConcurrentAudit", testConcurrentAudit},
		{"Close", testClose},
		{"Import", testImport},
	}
	tests = append(tests, revokeManyTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
	t.Run("Migrate", func(t *testing.T) {
		t.Parallel()
		testMigrate(t, open(t), open(t))
	})
}

func update(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantErr fails unless err wraps want.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// sealed seals s's audit log and returns every chained entry.
func sealed(t testing.TB, s store.Store) []store.AuditEntry {
	t.Helper()
	noErr(t, "SealAudit", s.SealAudit(context.Background()))
	var all []store.AuditEntry
	view(t, s, func(tx store.Tx) error {
		var err error
		all, err = tx.AuditEntries(1, 0)
		return err
	})
	return all
}

func noErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// try runs fn in its own Update and returns fn's error (the Update is
// rolled back when fn fails), for checking one call's error code.
func try(s store.Store, fn func(store.Tx) error) error {
	return s.Update(context.Background(), fn)
}
