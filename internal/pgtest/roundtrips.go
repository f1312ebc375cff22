package pgtest

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// RoundTrips is a pgx tracer (set it as a pool's ConnConfig.Tracer) that
// counts the round trips made under a context from Counted: each
// statement sent on its own and each pipeline (pgx batch) is one. Work
// under other contexts (a store's background sealing) is not counted,
// nor is COPY, which the store sends below pgx's tracer.
type RoundTrips struct{ n atomic.Int64 }

type countedKey struct{}

// Counted is ctx with its round trips counted.
func (r *RoundTrips) Counted(ctx context.Context) context.Context {
	return context.WithValue(ctx, countedKey{}, true)
}

// N is the number of round trips counted so far.
func (r *RoundTrips) N() int64 { return r.n.Load() }

func (r *RoundTrips) count(ctx context.Context) {
	if ctx.Value(countedKey{}) != nil {
		r.n.Add(1)
	}
}

func (r *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.count(ctx)
	return ctx
}

func (*RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *RoundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.count(ctx)
	return ctx
}

func (*RoundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (*RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
