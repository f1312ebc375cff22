package postgres_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// statementCounter counts the statements a pool's connections send whose
// text contains sub (pgx's QueryTracer; a pipeline's statements each
// count too).
type statementCounter struct {
	sub string
	n   atomic.Int64
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, c.sub) {
		c.n.Add(1)
	}
	return ctx
}

func (*statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *statementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if strings.Contains(d.SQL, c.sub) {
		c.n.Add(1)
	}
}

func (*statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestPrefetchUsersSavesReads: after PrefetchUsers, GetUser and GetParty
// of the users read ahead send no statement (in a View and in an
// Update); a user written in the transaction is read from the database
// again; without the read ahead each Get is a statement. (The answers
// themselves are the conformance suite's PrefetchUsers test.)
func TestPrefetchUsersSavesReads(t *testing.T) {
	t.Parallel()
	users := &statementCounter{sub: "FROM users WHERE id"}
	parties := &statementCounter{sub: "FROM parties WHERE id"}
	tracer := multiTracer{users, parties}
	s, err := postgres.Open(context.Background(), schemaURL(t), postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = tracer
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	p := store.Party{ID: "90-B3-D5-1F-30-00-00-01", Name: "P", Status: store.StatusActive}
	u := store.User{ID: "90-B3-D5-1F-30-01-00-01", PartyID: p.ID, Role: "IS", Name: "U", Status: store.StatusActive}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateParty(p); err != nil {
			return err
		}
		return tx.CreateUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	gets := func(tx store.Tx) error {
		if _, err := tx.GetUser(u.ID); err != nil {
			return err
		}
		_, err := tx.GetParty(p.ID)
		return err
	}
	count := func(name string, run func(func(store.Tx) error) error, fn func(store.Tx) error, wantUsers, wantParties int64) {
		t.Helper()
		u0, p0 := users.n.Load(), parties.n.Load()
		if err := run(func(tx store.Tx) error { return fn(tx) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if gu, gp := users.n.Load()-u0, parties.n.Load()-p0; gu != wantUsers || gp != wantParties {
			t.Errorf("%s: %d user and %d party statements, want %d and %d", name, gu, gp, wantUsers, wantParties)
		}
	}
	view := func(fn func(store.Tx) error) error { return s.View(ctx, fn) }
	update := func(fn func(store.Tx) error) error { return s.Update(ctx, fn) }
	prefetched := func(tx store.Tx) error {
		if err := store.PrefetchUsers(tx, []string{u.ID}); err != nil {
			return err
		}
		return gets(tx)
	}
	count("View without read ahead", view, gets, 1, 1)
	count("View read ahead", view, prefetched, 0, 0)
	count("Update read ahead", update, prefetched, 0, 0)
	count("Update read ahead, then a user written", update, func(tx store.Tx) error {
		if err := prefetched(tx); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return gets(tx)
	}, 1, 1)
}

// multiTracer sends each trace call to every statementCounter.
type multiTracer []*statementCounter

func (m multiTracer) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	for _, t := range m {
		ctx = t.TraceQueryStart(ctx, c, d)
	}
	return ctx
}

func (m multiTracer) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {}

func (m multiTracer) TraceBatchStart(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (m multiTracer) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	for _, t := range m {
		t.TraceBatchQuery(ctx, c, d)
	}
}

func (m multiTracer) TraceBatchEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchEndData) {}
