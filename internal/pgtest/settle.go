package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Settle brings the schema url selects (SchemaURL's) to a steady state
// before a timed part of a benchmark: every table vacuumed and analysed,
// then a checkpoint. A benchmark that loads or updates 100,000 rows just
// before it times something otherwise times it with stale planner
// statistics and with autovacuum and the checkpointer starting at a
// moment of their own choosing, which differs from one part to the next.
// Every timed part of one run should be settled alike.
func Settle(t testing.TB, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: settle: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
	if err != nil {
		t.Fatalf("pgtest: settle: %v", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("pgtest: settle: %v", err)
	}
	for _, tb := range tables {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+tb); err != nil {
			t.Fatalf("pgtest: settle: vacuum %s: %v", tb, err)
		}
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatalf("pgtest: settle: checkpoint: %v", err)
	}
}
