package bolt

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// crash ends s as a killed process would: no seal, files just closed.
func crash(t *testing.T, s *Store) {
	t.Helper()
	s.closed.Store(true)
	s.sealer.Stop()
	s.journal.close()
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
}

func entry(subject string) store.AuditEntry {
	return store.AuditEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Actor: "ra", Action: "read", Subject: subject}
}

func chain(t *testing.T, s *Store) []store.AuditEntry {
	t.Helper()
	var all []store.AuditEntry
	if err := s.View(context.Background(), func(tx store.Tx) (err error) { all, err = tx.AuditEntries(1, 0); return }); err != nil {
		t.Fatal(err)
	}
	if _, err := store.VerifyChain(nil, 1, all); err != nil {
		t.Fatal(err)
	}
	return all
}

// TestJournalSurvivesCrash: acknowledged journal records are chained at
// the next Open, a torn last line (never acknowledged) is dropped, and a
// file left half-sealed is not chained twice.
func TestJournalSurvivesCrash(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := Open(path, WithSealDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, sub := range []string{"a", "b", "c"} {
		if err := s.Audit(ctx, entry(sub)); err != nil {
			t.Fatal(err)
		}
	}
	crash(t, s)
	f, err := os.OpenFile(path+".audit", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`0badc0de {"n":4,"e":{"Action":"torn"`)
	f.Close()

	s, err = Open(path, WithSealDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	all := chain(t, s)
	if len(all) != 3 || all[0].Subject != "a" || all[2].Subject != "c" {
		t.Fatalf("after the crash the chain has %d entries (%+v), want a, b, c", len(all), all)
	}
	// A seal that committed but crashed before removing its file: the
	// file's records are skipped by number at the next Open.
	if err := s.Audit(ctx, entry("d")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path + ".audit")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	crash(t, s)
	if err := os.WriteFile(path+".audit.sealing", data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, WithSealDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Audit(ctx, entry("e")); err != nil {
		t.Fatal(err)
	}
	if err := s.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	all = chain(t, s)
	var got []string
	for _, e := range all {
		got = append(got, e.Subject)
	}
	if len(all) != 5 || all[3].Subject != "d" || all[4].Subject != "e" {
		t.Fatalf("chain after a half-finished seal: %v, want [a b c d e]", got)
	}
	if _, err := os.Stat(path + ".audit.sealing"); !os.IsNotExist(err) {
		t.Fatalf("the sealed file is still there: %v", err)
	}
}
