package store

import (
	"context"
	"runtime"

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
	fn    func(Tx) error
	err   error
	abort *abort // fn panicked or called runtime.Goexit (t.Fatal)
}

// abort is how a change's function left without returning: its caller
// gets the same (the panic value again, or runtime.Goexit) in its own
// goroutine, whichever goroutine ran the transaction.
type abort struct {
	value  any
	goexit bool
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
	if it.abort != nil {
		if it.abort.goexit {
			runtime.Goexit()
		}
		panic(it.abort.value)
	}
	return it.err
}

// write commits items in as few transactions as their outcomes allow:
// all together; if one fails, that one alone and the others together
// again; if one panics or calls runtime.Goexit, without it (its caller
// gets the same).
func (g *Grouper) write(ctx context.Context, items []*grouped) error {
	pending := items
	for len(pending) > 0 {
		failed, err, ab := g.attempt(ctx, pending)
		switch {
		case ab != nil && ab.index < 0: // the engine itself: every caller gets it
			for _, it := range pending {
				it.abort = ab.abort
			}
			return nil
		case ab != nil:
			pending[ab.index].abort = ab.abort
			pending = append(pending[:ab.index:ab.index], pending[ab.index+1:]...)
			continue
		case failed < 0 || len(pending) == 1:
			for _, it := range pending {
				it.err = err
			}
			return nil
		}
		alone := pending[failed]
		pending = append(pending[:failed:failed], pending[failed+1:]...)
		if _, alone.err, ab = g.attempt(ctx, []*grouped{alone}); ab != nil {
			alone.abort = ab.abort
		}
	}
	return nil
}

// attemptAbort: the transaction did not return; index is the change whose
// function was running (-1: none, the engine).
type attemptAbort struct {
	index int
	abort *abort
}

// attempt runs one transaction applying every change in order, on its own
// goroutine so that a change that panics or calls runtime.Goexit cannot
// take the caller's goroutine (the batch's leader) with it; the engine has
// rolled the transaction back by then. It returns the index of the change
// that failed (-1: none), the transaction's error, or how it aborted.
func (g *Grouper) attempt(ctx context.Context, pending []*grouped) (failed int, err error, ab *attemptAbort) {
	done := make(chan struct{})
	cur := -1
	go func() {
		returned := false
		defer func() {
			if !returned {
				r := recover()
				ab = &attemptAbort{index: cur, abort: &abort{value: r, goexit: r == nil}}
			}
			close(done)
		}()
		err = g.update(ctx, func(tx Tx) error {
			failed = -1
			for i, it := range pending {
				cur = i
				if err := it.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			cur = -1
			return nil
		})
		returned = true
	}()
	<-done
	return failed, err, ab
}
