// Package groupcommit batches concurrent appends into one durable write
// (group commit), for the engines' Store.Audit. It owns the batching, not
// the write: each engine passes the function that makes a batch durable.
package groupcommit

import (
	"context"
	"runtime"
	"sync"
)

// MaxBatch bounds how many items one write carries.
const MaxBatch = 1024

// Batcher collects items from concurrent Add calls. While one batch is
// being written, the items that arrive queue up and are written together
// as the next batch, so under load one durable write serves many callers
// and a lone caller pays one write, with no timer.
type Batcher[T any] struct {
	write func(context.Context, []T) error

	mu       sync.Mutex
	queue    []request[T]
	flushing bool
}

type request[T any] struct {
	item T
	done chan error
}

// New returns a Batcher that makes batches durable with write. write gets
// a context without the callers' cancellation: a batch, once started, is
// finished for everyone in it.
func New[T any](write func(context.Context, []T) error) *Batcher[T] {
	return &Batcher[T]{write: write}
}

// Add queues item and returns once the batch holding it is written, with
// that write's error. If no batch is being written, the caller writes the
// queue itself, one batch, and hands any items that arrived meanwhile to
// a goroutine that carries on.
//
// Before taking a batch the writer yields its P once (runtime.Gosched),
// so that goroutines ready to run, about to Add, queue first and join
// the batch. Without it the first caller takes a batch of one and blocks
// in the write (an fsync) while the callers readied beside it wait on its
// P until the runtime hands the P to another thread, and each of them
// then pays a write of its own. With nothing else runnable the yield
// returns at once.
func (b *Batcher[T]) Add(ctx context.Context, item T) error {
	done := make(chan error, 1)
	b.mu.Lock()
	b.queue = append(b.queue, request[T]{item, done})
	lead := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if lead {
		if b.flushOnce(ctx) {
			go func() {
				for b.flushOnce(context.WithoutCancel(ctx)) {
				}
			}()
		}
	}
	return <-done
}

// flushOnce writes one batch from the queue and reports whether items are
// left; if none are, it ends the flushing state.
func (b *Batcher[T]) flushOnce(ctx context.Context) bool {
	runtime.Gosched()
	b.mu.Lock()
	n := min(len(b.queue), MaxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	items := make([]T, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	var err error
	if len(items) > 0 {
		err = b.write(context.WithoutCancel(ctx), items)
	}
	for _, r := range batch {
		r.done <- err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		b.flushing = false
		b.queue = nil
		return false
	}
	return true
}
