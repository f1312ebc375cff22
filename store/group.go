package store

import (
	"context"

	"github.com/smki/smki/store/internal/groupcommit"
)

// Grouper runs concurrent Updates in shared transactions (group commit):
// while one transaction commits, the changes that arrive queue up and
// the next transaction carries all of them, so under load one commit
// (one fsync) serves many callers, and a lone caller pays one commit and
// no timer. Each caller still returns only after the transaction holding
// its change is durable, with its own outcome: a change that fails is
// taken out, run again alone (its error is what its caller gets), and the
// rest are committed without it. A change may therefore run more than
// once, as Update allows anyway. Changes grouped together must not depend
// on each other's absence (each must be a change its caller could make in
// any order relative to the others).
type Grouper struct {
	update func(context.Context, func(Tx) error) error
	b      *groupcommit.Batcher[*grouped]
}

type grouped struct {
	fn  func(Tx) error
	err error
}

// NewGrouper groups changes into transactions run by update (a Store's
// Update, or an engine's own single-transaction write).
func NewGrouper(update func(context.Context, func(Tx) error) error) *Grouper {
	g := &Grouper{update: update}
	g.b = groupcommit.New(g.write)
	return g
}

// Update runs fn in a transaction shared with concurrent Update calls of
// g, and returns fn's error, or the commit's, once that transaction is
// durable. As for Store.Update, fn's writes are kept only if it returns
// nil.
func (g *Grouper) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it := &grouped{fn: fn}
	if err := g.b.Add(ctx, it); err != nil {
		return err
	}
	return it.err
}

// write commits items in as few transactions as their outcomes allow:
// all together; if one fails, that one alone and the others together
// again.
func (g *Grouper) write(ctx context.Context, items []*grouped) error {
	pending := items
	for len(pending) > 0 {
		failed := -1
		err := g.update(ctx, func(tx Tx) error {
			failed = -1
			for i, it := range pending {
				if err := it.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 || len(pending) == 1 {
			for _, it := range pending {
				it.err = err
			}
			return nil
		}
		alone := pending[failed]
		alone.err = g.update(ctx, alone.fn)
		pending = append(pending[:failed:failed], pending[failed+1:]...)
	}
	return nil
}
