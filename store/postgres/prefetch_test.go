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

// TestPrefetchSavesReads: after Prefetch, GetUser, GetParty, GetOfficer
// and CertificatesByKey of what was read ahead send no statement, in a
// View and in an Update; in an Update a user, officer or certificate
// written is read from the database again; without the read ahead each
// Get is a statement. (The answers themselves are the conformance suite's
// Prefetch test.)
func TestPrefetchSavesReads(t *testing.T) {
	t.Parallel()
	users := &statementCounter{sub: "FROM users WHERE id"}
	parties := &statementCounter{sub: "FROM parties WHERE id"}
	officers := &statementCounter{sub: "FROM officers WHERE id = $1"}
	byKey := &statementCounter{sub: "key_owners WHERE key_hash"}
	counters := []*statementCounter{users, parties, officers, byKey}
	s, err := postgres.Open(context.Background(), schemaURL(t), postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = multiTracer(counters)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	p := store.Party{ID: "90-B3-D5-1F-30-00-00-01", Name: "P", Status: store.StatusActive}
	u := store.User{ID: "90-B3-D5-1F-30-01-00-01", PartyID: p.ID, Role: "IS", Name: "U", Status: store.StatusActive}
	o := store.Officer{ID: "aro-a", Name: "A", PartyID: p.ID, Kind: "aro", CertSerial: "0a", Status: store.StatusActive, AppointedBy: "ra"}
	const kh = "5b2a6f7d0c5e1a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3"
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateParty(p); err != nil {
			return err
		}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		return tx.CreateOfficer(o)
	}); err != nil {
		t.Fatal(err)
	}
	gets := func(tx store.Tx) error {
		if _, err := tx.GetUser(u.ID); err != nil {
			return err
		}
		if _, err := tx.GetParty(p.ID); err != nil {
			return err
		}
		if _, err := tx.GetOfficer(o.ID); err != nil {
			return err
		}
		_, err := tx.CertificatesByKey(kh)
		return err
	}
	count := func(name string, run func(func(store.Tx) error) error, fn func(store.Tx) error, want ...int64) {
		t.Helper()
		before := make([]int64, len(counters))
		for i, c := range counters {
			before[i] = c.n.Load()
		}
		if err := run(fn); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, c := range counters {
			if got := c.n.Load() - before[i]; got != want[i] {
				t.Errorf("%s: %d statements with %q, want %d", name, got, c.sub, want[i])
			}
		}
	}
	view := func(fn func(store.Tx) error) error { return s.View(ctx, fn) }
	update := func(fn func(store.Tx) error) error { return s.Update(ctx, fn) }
	ahead := store.ReadAhead{Users: []string{u.ID}, Officers: []string{o.ID}, KeyHashes: []string{kh}}
	prefetched := func(tx store.Tx) error {
		if err := store.Prefetch(tx, ahead); err != nil {
			return err
		}
		return gets(tx)
	}
	// Statements of Get: users, parties, officers (the read ahead's own
	// statements have other texts: a join, id = ANY), and certificates by
	// key (the read ahead's has the same text, so it counts: 1 in a View
	// means the Get sent none).
	count("View without read ahead", view, gets, 1, 1, 1, 1)
	count("View read ahead", view, prefetched, 0, 0, 0, 1)
	count("Update read ahead", update, prefetched, 0, 0, 0, 1)
	count("Update read ahead, then a user, an officer and a certificate written", update, func(tx store.Tx) error {
		if err := prefetched(tx); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if err := tx.PutOfficer(o); err != nil {
			return err
		}
		c := benchCert(benchSerial(), u.ID, p.ID)
		c.KeyHash = kh
		if err := tx.PutCertificate(c); err != nil {
			return err
		}
		return gets(tx)
	}, 1, 1, 1, 2) // the second Get of each after the writes
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
