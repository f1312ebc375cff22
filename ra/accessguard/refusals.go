package accessguard

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Refusals of a credential: a removed officer, or anyone holding its
// certificate, could make the RA write one fsynced audit record per
// request, without limit. Refused authentications of one credential are
// therefore coalesced: the first refusal in a window is recorded at once,
// the rest of the window is counted, and one record with their count is
// written when the window closes (or the server shuts down). No refusal
// goes unrecorded: the counts (count=N in each record's detail) add up to
// the refusals.

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

// Coalescer counts refused authentications per credential and code and
// hands each record to write: the RA's audit append, which must not fail
// the caller (it logs its own failures).
type Coalescer struct {
	now   func() time.Time
	write func(ctx context.Context, actor, subject, code, detail string)

	mu     sync.Mutex
	open   map[string]*refusalWindow
	closed bool
}

// NewCoalescer returns a Coalescer dated by now that records through write.
func NewCoalescer(now func() time.Time, write func(ctx context.Context, actor, subject, code, detail string)) *Coalescer {
	return &Coalescer{now: now, write: write}
}

// Refused records a refused authentication of a credential (actor
// "unauthenticated:<CN>", subject "serial:<serial>") with its code and
// cause, coalesced per credential and code over RefusalWindow.
func (c *Coalescer) Refused(ctx context.Context, actor, subject, code, cause string) {
	now := c.now().UTC()
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
		w.last, w.lastCause = now, cause
		c.mu.Unlock()
		return
	}
	closed := c.closed
	if !closed {
		w = &refusalWindow{actor: actor, subject: subject, code: code, first: now, last: now}
		c.open[key] = w
		w.timer = time.AfterFunc(RefusalWindow, func() { c.closeWindow(key) })
	}
	c.mu.Unlock()
	detail := "count=1: " + cause
	if !closed {
		detail += fmt.Sprintf(" (further refusals of this credential in the next %v are recorded together, with their count)", RefusalWindow)
	}
	c.write(ctx, actor, subject, code, detail)
}

// closeWindow writes the record of a window's later refusals, if any,
// and forgets the window.
func (c *Coalescer) closeWindow(key string) {
	c.mu.Lock()
	w, ok := c.open[key]
	delete(c.open, key)
	c.mu.Unlock()
	if ok {
		c.writeWindow(w)
	}
}

func (c *Coalescer) writeWindow(w *refusalWindow) {
	if w.count == 0 {
		return
	}
	detail := fmt.Sprintf("count=%d: refused %d more times from %s to %s; the last: %s", w.count, w.count,
		w.first.Format(time.RFC3339), w.last.Format(time.RFC3339), w.lastCause)
	c.write(context.Background(), w.actor, w.subject, w.code, detail)
}

// Flush closes every open window, writing their counts, and records later
// refusals one by one.
func (c *Coalescer) Flush() {
	c.mu.Lock()
	c.closed = true
	open := c.open
	c.open = nil
	c.mu.Unlock()
	for _, w := range open {
		w.timer.Stop()
		c.writeWindow(w)
	}
}
