package feedhub

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// DefaultPageBytes sizes a feed page unless Hub.PageBytes says otherwise:
// entries are added while their JSON stays within it, so a page is a few
// MiB whatever the issuer names, and its envelope (base64, 4/3 of it, plus
// the chain) stays well under bundle.MaxFeedSize (16 MiB). A follower that
// is further behind gets several pages in a row: Seq tells it where the
// page ended. About 45,000 entries of the Issuing OCA fit.
const DefaultPageBytes = 8 << 20

// DefaultPoll is how often held requests look at the store's revocation
// sequence unless Hub.Poll says otherwise. Revocations made through this
// process wake them at once; the poll is for those committed by other
// instances over the same PostgreSQL database.
const DefaultPoll = 100 * time.Millisecond

// Hub wakes held feed requests when the revocation sequence advances.
// Its zero value is ready (Service holds it by value). Two sources advance
// it: committed, called once this process's own revocations have
// committed (the low-latency path: Service.Revoke after the CA's
// transaction, Store after any Service transaction that revoked), and
// one store poller per process, running only while requests are held, for
// revocations committed by other instances. Held requests never poll the
// store themselves, so N followers cost one poll, not N.
type Hub struct {
	PageSize  int           // entries per page; 0: no cap but the byte budget
	PageBytes int           // a page's byte budget; 0: DefaultPageBytes
	Poll      time.Duration // 0: DefaultPoll
	// NewTimer times a held request's wait (nil: time.NewTimer). Tests
	// replace it so that only a wake-up can answer a held request.
	NewTimer func(time.Duration) *time.Timer

	mu      sync.Mutex
	seq     uint64            // highest sequence seen committed
	pseq    uint64            // highest party-status sequence seen committed
	ch      chan struct{}     // closed (and replaced) when seq advances
	waiters int               // held requests
	polling bool              // the poller goroutine is running
	drain   chan struct{}     // closed by DrainFeed: answer without holding
	news    records.PartyNews // the latest party part seen committed (Seq 0: none)
	officer uint64            // bumped by OfficerChanged
}

func (h *Hub) Limit() int {
	if h.PageSize > 0 {
		return h.PageSize
	}
	return math.MaxInt
}

func (h *Hub) Budget() int {
	if h.PageBytes > 0 {
		return h.PageBytes
	}
	return DefaultPageBytes
}

func (h *Hub) interval() time.Duration {
	if h.Poll > 0 {
		return h.Poll
	}
	return DefaultPoll
}

func (h *Hub) Timer(d time.Duration) *time.Timer {
	if h.NewTimer != nil {
		return h.NewTimer(d)
	}
	return time.NewTimer(d)
}

// changedLocked returns the channel closed at the next advance. h.mu held.
func (h *Hub) changedLocked() chan struct{} {
	if h.ch == nil {
		h.ch = make(chan struct{})
	}
	return h.ch
}

// advance records that seq has committed and wakes every held request if
// that is news.
func (h *Hub) Advance(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.seq {
		return
	}
	h.seq = seq
	h.wakeLocked()
}

// OfficerChanged records that an officer's status changed in this
// process (suspended, reinstated, removed) and wakes every held request,
// so that each checks its reader again at once (OfficerEpoch) rather
// than at the end of its wait.
func (h *Hub) OfficerChanged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.officer++
	h.wakeLocked()
}

// OfficerEpoch counts the OfficerChanged calls: a held request whose
// reader was authorized at an older epoch authorizes it again before
// answering.
func (h *Hub) OfficerEpoch() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.officer
}

// Seq is the highest revocation sequence Advance was given: the store has
// reached at least this far (it may be further).
func (h *Hub) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// wakeLocked answers every held request's wait. h.mu held.
func (h *Hub) wakeLocked() {
	if h.ch != nil {
		close(h.ch)
		h.ch = nil
	}
}

// advanceParty records that party-status sequence seq has committed and
// wakes every held request if that is news.
func (h *Hub) AdvanceParty(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.pseq {
		return
	}
	h.pseq = seq
	h.wakeLocked()
}

// SetPartyNews records the party part of the feed as of n.Seq, if newer
// than the one held, and wakes every held request. A held request whose
// follower is behind on party status is then answered from it without
// reading the store (PartyNews), so a party's failure reaches followers
// however busy the store or its connection pool is.
func (h *Hub) SetPartyNews(n records.PartyNews) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n.Seq <= h.news.Seq {
		return
	}
	h.news = n
	if n.Seq > h.pseq {
		h.pseq = n.Seq
	}
	h.wakeLocked()
}

// PartyNews returns the latest party part set by SetPartyNews (Seq 0:
// none). Its slices are shared: read only.
func (h *Hub) PartyNews() records.PartyNews {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.news
}

// committed is advance for revocations that have just committed.
func (h *Hub) Committed(revs []store.Revocation) {
	var top uint64
	for _, r := range revs {
		top = max(top, r.Seq)
	}
	if top > 0 {
		h.Advance(top)
	}
}

// hold registers a held request and returns the function that releases
// it (call it exactly once). The first held request starts the store
// poller (over st); the poller stops once none is held.
func (h *Hub) Hold(st store.Store, log *slog.Logger) (release func()) {
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
func (h *Hub) Draining() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.drain == nil {
		h.drain = make(chan struct{})
	}
	return h.drain
}

// changed returns the channel closed at the next advance, without holding.
func (h *Hub) Changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changedLocked()
}

// pollStore reads the store's revocation sequence every interval while
// requests are held. A read error is logged and retried at the next tick:
// held requests then still end at their wait.
func (h *Hub) pollStore(st store.Store, log *slog.Logger) {
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
			pseq, err = records.PartySeq(tx)
			return err
		})
		if err != nil {
			log.LogAttrs(context.Background(), slog.LevelWarn, "ra feed poll failed", slog.String("error", err.Error()))
			continue
		}
		h.Advance(seq)
		h.AdvanceParty(pseq)
	}
}

// Store is the Service's view of its store: after an Update or Urgent that
// revoked anything (SoLR approval, the scheduler: ca.RevokeTx inside the
// Service's transaction) or advanced the party-status sequence (a party's
// status or party-wide revocation: the SoLR approval's cut-off) has
// committed, it wakes the held feed requests.
type Store struct {
	store.Store
	Hub *Hub
}

func (s Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.wake(ctx, s.Store.Update, fn)
}

// Urgent is Update's wake-up for the urgent lane (SoLR approval and the
// scheduled SoLR revocation run there, so issuance cannot starve them).
func (s Store) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	return s.wake(ctx, s.Store.Urgent, fn)
}

// wake runs fn through run (the store's Update or Urgent) and, once it has
// committed, wakes the held feed requests if it revoked anything or
// advanced the party-status sequence.
func (s Store) wake(ctx context.Context, run func(context.Context, func(store.Tx) error) error, fn func(store.Tx) error) error {
	var w written
	var news records.PartyNews
	err := run(ctx, func(tx store.Tx) error {
		w = written{} // fn may run again if the engine retries
		if err := fn(revokeTx{Tx: tx, w: &w}); err != nil || w.party == 0 {
			return err
		}
		// The party part as this transaction commits it, for the held
		// requests to be answered without a read (SetPartyNews).
		var err error
		news, err = records.ReadPartyNews(tx)
		return err
	})
	if err == nil {
		if w.party > 0 {
			s.Hub.SetPartyNews(news)
			s.Hub.AdvanceParty(w.party)
		}
		if w.top > 0 {
			s.Hub.Advance(w.top)
		}
	}
	return err
}

// written is what one transaction wrote that the feed serves: the highest
// revocation sequence and party-status sequence.
type written struct{ top, party uint64 }

// revokeTx records the sequences written through it.
type revokeTx struct {
	store.Tx
	w *written
}

func (t revokeTx) Revoke(serial string, reason int, at time.Time) (store.Revocation, error) {
	r, err := t.Tx.Revoke(serial, reason, at)
	if err == nil {
		t.w.top = max(t.w.top, r.Seq)
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
			t.w.top = max(t.w.top, r.Seq)
		}
	}
	return rs, err
}

// PutMeta notes the party-status sequence (records.PartySeqWrite).
func (t revokeTx) PutMeta(key string, value []byte) error {
	err := t.Tx.PutMeta(key, value)
	if n, ok := records.PartySeqWrite(key, value); ok && err == nil {
		t.w.party = max(t.w.party, n)
	}
	return err
}

// Held returns how many requests are held now.
func (h *Hub) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiters
}

// Drain answers every held request at once, as if its wait had elapsed,
// and every later one without holding it.
func (h *Hub) Drain() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.drain == nil {
		h.drain = make(chan struct{})
	}
	select {
	case <-h.drain:
	default:
		close(h.drain)
	}
}
