package ra

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smki/smki/store"
)

// Refusals of a credential (issue 12 finding 8): a removed officer, or
// anyone holding its certificate, could make the RA write one fsynced
// audit record per request, without limit. Refused authentications of one
// credential are therefore coalesced: the first refusal in a window is
// recorded at once, the rest of the window is counted, and one record
// with their count is written when the window closes (or the server
// shuts down). No refusal goes unrecorded: the counts (count=N in each
// record's detail) add up to the refusals.

// ActAuthenticate is the action of an authentication refusal's record.
const ActAuthenticate Action = "officer.authenticate"

// RefusalWindow is how long refusals of one credential are coalesced.
const RefusalWindow = time.Minute

// maxRefusalWindows bounds the open windows; beyond it, refusals of new
// credentials share one window (actor "unauthenticated:*").
const maxRefusalWindows = 4096

type refusalWindow struct {
	actor, subject, code string
	count                int // refusals after the first
	first, last          time.Time
	lastCause            string
	timer                *time.Timer
}

type refusalCoalescer struct {
	mu     sync.Mutex
	open   map[string]*refusalWindow
	closed bool
}

// refusedCredential records a refused authentication of a credential
// (actor "unauthenticated:<CN>", subject "serial:<serial>"), coalesced
// per credential and code over RefusalWindow.
func (s *Service) refusedCredential(ctx context.Context, actor, subject string, cause error) {
	code := CodeOf(cause)
	now := s.now().UTC()
	c := &s.refusals
	c.mu.Lock()
	if c.open == nil {
		c.open = map[string]*refusalWindow{}
	}
	key := actor + "\x00" + subject + "\x00" + code
	w, ok := c.open[key]
	if !ok && len(c.open) >= maxRefusalWindows {
		actor, subject = "unauthenticated:*", "serial:*"
		key = actor + "\x00" + subject + "\x00" + code
		w, ok = c.open[key]
	}
	if ok {
		w.count++
		w.last, w.lastCause = now, cause.Error()
		c.mu.Unlock()
		return
	}
	closed := c.closed
	if !closed {
		w = &refusalWindow{actor: actor, subject: subject, code: code, first: now, last: now}
		c.open[key] = w
		w.timer = time.AfterFunc(RefusalWindow, func() { s.closeRefusalWindow(key) })
	}
	c.mu.Unlock()
	detail := "count=1: " + cause.Error()
	if !closed {
		detail += fmt.Sprintf(" (further refusals of this credential in the next %v are recorded together, with their count)", RefusalWindow)
	}
	s.appendRefusal(ctx, actor, subject, code, detail)
}

// closeRefusalWindow writes the record of a window's later refusals, if
// any, and forgets the window.
func (s *Service) closeRefusalWindow(key string) {
	c := &s.refusals
	c.mu.Lock()
	w, ok := c.open[key]
	delete(c.open, key)
	c.mu.Unlock()
	if ok {
		s.writeWindow(w)
	}
}

func (s *Service) writeWindow(w *refusalWindow) {
	if w.count == 0 {
		return
	}
	detail := fmt.Sprintf("count=%d: refused %d more times from %s to %s; the last: %s", w.count, w.count,
		w.first.Format(time.RFC3339), w.last.Format(time.RFC3339), w.lastCause)
	s.appendRefusal(context.Background(), w.actor, w.subject, w.code, detail)
}

// FlushRefusals closes every open refusal window, writing their counts,
// and records later refusals one by one. The server calls it once it has
// stopped serving, before the store closes.
func (s *Service) FlushRefusals() {
	c := &s.refusals
	c.mu.Lock()
	c.closed = true
	open := c.open
	c.open = nil
	c.mu.Unlock()
	for _, w := range open {
		w.timer.Stop()
		s.writeWindow(w)
	}
}

func (s *Service) appendRefusal(ctx context.Context, actor, subject, code, detail string) {
	e := s.entry(actor, ActAuthenticate, subject, "refused: "+code, detail)
	err := s.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		_, err := tx.AppendAudit(e)
		return err
	})
	s.log.LogAttrs(ctx, slog.LevelWarn, "ra refused", slog.String("actor", actor), slog.String("action", string(ActAuthenticate)),
		slog.String("subject", subject), slog.String("code", code), slog.String("detail", detail))
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "ra audit append failed", slog.String("error", err.Error()))
	}
}
