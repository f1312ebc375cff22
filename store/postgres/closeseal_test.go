package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// TestCloseSealsPendingAudit: Close chains the audit entries committed
// before it (they wait in the pending table for a sealer): a server
// stopped gracefully leaves its last records in the chain, where a
// read-only reader (smki audit verify) finds them, not pending until some
// instance opens the database again.
func TestCloseSealsPendingAudit(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	s, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendAudit(store.AuditEntry{Time: time.Now().UTC(), Actor: "t", Action: "party.create", Subject: "party:1", Result: "allowed"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := postgres.OpenReadOnly(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	err = ro.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(1, 0)
		for _, e := range es {
			if e.Action == "party.create" {
				n++
			}
		}
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("chained party.create records after Close: %d (%v), want 1: Close did not seal what was pending", n, err)
	}
}
