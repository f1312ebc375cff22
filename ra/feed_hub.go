package ra

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/smki/smki/store"
)

// feedHub wakes held feed requests when the revocation sequence advances.
// Its zero value is ready (Service holds it by value). Two sources advance
// it: committed, called once this process's own revocations have
// committed (the low-latency path: Service.Revoke after the CA's
// transaction, feedStore after any Service transaction that revoked), and
// one store poller per process, running only while requests are held, for
// revocations committed by other instances. Held requests never poll the
// store themselves, so N followers cost one poll, not N.
type feedHub struct {
	pageSize  int           // entries per page; 0: no cap but the byte budget
	pageBytes int           // a page's byte budget; 0: DefaultFeedPageBytes
	poll      time.Duration // 0: DefaultFeedPoll
	// newTimer times a held request's wait (nil: time.NewTimer). Tests
	// replace it so that only a wake-up can answer a held request.
	newTimer func(time.Duration) *time.Timer

	mu      sync.Mutex
	seq     uint64        // highest sequence seen committed
	pseq    uint64        // highest party-status sequence seen committed
	ch      chan struct{} // closed (and replaced) when seq advances
	waiters int           // held requests
	polling bool          // the poller goroutine is running
	drain   chan struct{} // closed by DrainFeed: answer without holding
}

func (h *feedHub) limit() int {
	if h.pageSize > 0 {
		return h.pageSize
	}
	return math.MaxInt
}

func (h *feedHub) budget() int {
	if h.pageBytes > 0 {
		return h.pageBytes
	}
	return DefaultFeedPageBytes
}

func (h *feedHub) interval() time.Duration {
	if h.poll > 0 {
		return h.poll
	}
	return DefaultFeedPoll
}

func (h *feedHub) timer(d time.Duration) *time.Timer {
	if h.newTimer != nil {
		return h.newTimer(d)
	}
	return time.NewTimer(d)
}

// changedLocked returns the channel closed at the next advance. h.mu held.
func (h *feedHub) changedLocked() chan struct{} {
	if h.ch == nil {
		h.ch = make(chan struct{})
	}
	return h.ch
}

// advance records that seq has committed and wakes every held request if
// that is news.
func (h *feedHub) advance(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.seq {
		return
	}
	h.seq = seq
	h.wakeLocked()
}

// wakeLocked answers every held request's wait. h.mu held.
func (h *feedHub) wakeLocked() {
	if h.ch != nil {
		close(h.ch)
		h.ch = nil
	}
}

// advanceParty records that party-status sequence seq has committed and
// wakes every held request if that is news.
func (h *feedHub) advanceParty(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.pseq {
		return
	}
	h.pseq = seq
	h.wakeLocked()
}

// committed is advance for revocations that have just committed.
func (h *feedHub) committed(revs []store.Revocation) {
	var top uint64
	for _, r := range revs {
		top = max(top, r.Seq)
	}
	if top > 0 {
		h.advance(top)
	}
}

// hold registers a held request and returns the function that releases
// it (call it exactly once). The first held request starts the store
// poller (over st); the poller stops once none is held.
func (h *feedHub) hold(st store.Store, log *slog.Logger) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiters++
	if !h.polling {
		h.polling = true
		go h.pollStore(st, log)
	}
	return func() {
		h.mu.Lock()
		h.waiters--
		h.mu.Unlock()
	}
}

// draining returns the channel DrainFeed closes.
func (h *feedHub) draining() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.drain == nil {
		h.drain = make(chan struct{})
	}
	return h.drain
}

// changed returns the channel closed at the next advance, without holding.
func (h *feedHub) changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changedLocked()
}

// pollStore reads the store's revocation sequence every interval while
// requests are held. A read error is logged and retried at the next tick:
// held requests then still end at their wait.
func (h *feedHub) pollStore(st store.Store, log *slog.Logger) {
	t := time.NewTicker(h.interval())
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		if h.waiters == 0 {
			h.polling = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		var seq, pseq uint64
		err := st.View(context.Background(), func(tx store.Tx) error {
			var err error
			if seq, err = tx.RevocationSeq(); err != nil {
				return err
			}
			pseq, err = partySeq(tx)
			return err
		})
		if err != nil {
			log.LogAttrs(context.Background(), slog.LevelWarn, "ra feed poll failed", slog.String("error", err.Error()))
			continue
		}
		h.advance(seq)
		h.advanceParty(pseq)
	}
}

// feedStore is the Service's view of its store: after an Update or Urgent that
// revoked anything (SoLR approval, the scheduler: ca.RevokeTx inside the
// Service's transaction) has committed, it wakes the held feed requests.
type feedStore struct {
	store.Store
	hub *feedHub
}

func (s feedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.wake(ctx, s.Store.Update, fn)
}

// Urgent is Update's wake-up for the urgent lane (SoLR approval and the
// scheduled SoLR revocation run there, so issuance cannot starve them).
func (s feedStore) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	return s.wake(ctx, s.Store.Urgent, fn)
}

// wake runs fn through run (the store's Update or Urgent) and, once it has
// committed, wakes the held feed requests if it revoked anything.
func (s feedStore) wake(ctx context.Context, run func(context.Context, func(store.Tx) error) error, fn func(store.Tx) error) error {
	var top uint64
	err := run(ctx, func(tx store.Tx) error {
		top = 0 // fn may run again if the engine retries
		return fn(revokeTx{Tx: tx, top: &top})
	})
	if err == nil && top > 0 {
		s.hub.advance(top)
	}
	return err
}

// revokeTx records the highest revocation sequence written through it.
type revokeTx struct {
	store.Tx
	top *uint64
}

func (t revokeTx) Revoke(serial string, reason int, at time.Time) (store.Revocation, error) {
	r, err := t.Tx.Revoke(serial, reason, at)
	if err == nil {
		*t.top = max(*t.top, r.Seq)
	}
	return r, err
}

// RevokeMany must be wrapped too: the embedded Tx would otherwise forward
// it unrecorded, and a bulk revocation (ca.RevokeTx) would not wake the
// feed.
func (t revokeTx) RevokeMany(serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	rs, err := t.Tx.RevokeMany(serials, reason, at)
	if err == nil {
		for _, r := range rs {
			*t.top = max(*t.top, r.Seq)
		}
	}
	return rs, err
}
