package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
)

// embeddedVersions returns the versions of the migrations this smki
// embeds (file names without migrations/ and .sql), in order.
func embeddedVersions() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
	}
	slices.Sort(out)
	return out, nil
}

// refuseNewerSchema fails with store.ErrTooNew when schema_migrations
// records a migration this smki does not embed: a newer smki upgraded the
// database, and this one would misread what that migration changed (a
// dropped column, a moved value). It reads through q, inside the caller's
// transaction where there is one (migrate holds the migration lock).
func refuseNewerSchema(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) error {
	known, err := embeddedVersions()
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return err
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, v := range applied {
		if _, found := slices.BinarySearch(known, v); !found {
			return fmt.Errorf("the database has migration %s, which this smki does not know (its newest is %s): "+
				"it was upgraded by a newer smki; run that one, or restore a backup taken before the upgrade: %w",
				v, known[len(known)-1], store.ErrTooNew)
		}
	}
	return nil
}
