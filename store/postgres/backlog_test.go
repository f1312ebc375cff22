package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
	"github.com/smki/smki/store/storetest"
)

// TestAuditBacklog: an audit entry committed but not yet sealed is
// counted, with its time, until a seal chains it; the operator's signal
// that sealing has stopped (smki_audit_unsealed_oldest_seconds).
func TestAuditBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, schemaURL(t), postgres.WithSealDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, oldest, err := s.AuditBacklog(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("AuditBacklog on a sealed store = %d, %v, %v; want 0, zero", n, oldest, err)
	}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	for i := range 2 {
		err = s.Update(ctx, func(tx store.Tx) error {
			_, err := tx.AppendAudit(store.AuditEntry{Time: at.Add(time.Duration(i) * time.Second), Actor: "t", Action: "party.create", Subject: "party:1", Result: "allowed"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, oldest, err := s.AuditBacklog(ctx); err != nil || n != 2 || !oldest.Equal(at) {
		t.Fatalf("AuditBacklog with two pending = %d, %v, %v; want 2, %v", n, oldest, err, at)
	}
	if err := s.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.AuditBacklog(ctx); err != nil || n != 0 {
		t.Fatalf("AuditBacklog after SealAudit = %d, %v; want 0", n, err)
	}
}

// TestSealFailureSeen: when pending entries cannot be chained (here the
// audit table is renamed away) the operator sees it in the log, the
// failure count and the backlog (storetest.SealFailureSeen). Before, the
// sealer dropped the error: only the backlog's age told anything.
func TestSealFailureSeen(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	var logs storetest.LogBuffer
	s, err := postgres.Open(context.Background(), u, postgres.WithSealDelay(5*time.Millisecond),
		postgres.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.SealFailureSeen(t, s, "postgres", &logs,
		func() { execSQL(t, u, "ALTER TABLE audit RENAME TO audit_away") },
		func() { execSQL(t, u, "ALTER TABLE audit_away RENAME TO audit") })
}
