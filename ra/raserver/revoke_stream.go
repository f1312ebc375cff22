package raserver

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"

	"github.com/smki/smki/ca"
)

const (
	// revokeProgressEvery is the least time between two progress lines,
	// except the first and the "all marked" one, which go out at once: a
	// terminal bar needs a few updates a second, not one per 256 serials.
	revokeProgressEvery = 150 * time.Millisecond
	// revokeKeepAlive repeats the last progress line when nothing else was
	// written for this long (the commit after "all marked" sends nothing),
	// so that the client's idle timeout and proxies see the stream alive.
	revokeKeepAlive = 15 * time.Second
	// revokeLineWait is the write deadline of each line: a stream may last
	// longer than the server's WriteTimeout, a single line may not.
	revokeLineWait = 30 * time.Second
)

// answerRevoke runs req and answers it as JSON, or as a raapi.MediaNDJSON stream
// if the client accepts one and the CA starts marking serials.
//
// The switch to streaming happens at the first progress report, which the
// CA makes only after the selection was authorised and its transaction
// began: until then every refusal (authorisation, bad request, not found)
// is the ordinary HTTP error, and a dry run or an empty selection, which
// never reach the CA, is the ordinary JSON answer. Once the 200 status of
// the stream is sent, a failure can only be its final error line.
func (s *server) answerRevoke(w http.ResponseWriter, r *http.Request, a ra.Actor, req ra.RevokeRequest) error {
	if !acceptsNDJSON(r.Header) {
		res, err := s.svc.Revoke(r.Context(), a, req)
		if err != nil {
			return err
		}
		s.countRevoked(res)
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	ps := newProgressStream(w)
	go ps.run()
	// Stop the writer before this handler returns, whatever happens: the
	// ResponseWriter must not be used after ServeHTTP returns.
	defer ps.stop()
	// The CA calls ps.observe inside its transaction; observe never blocks
	// (the writing happens in ps.run), so a slow client cannot hold the
	// store's write transaction open. Service.Revoke runs on this
	// goroutine so that a panic in it is recovered by net/http as usual.
	res, err := s.svc.Revoke(ca.WithRevokeProgress(r.Context(), ps.observe), a, req)
	if !ps.stop() {
		if err != nil {
			return err
		}
		s.countRevoked(res)
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	if err != nil {
		_, body := s.errorResponse(r, err)
		ps.writeLine(body)
	} else {
		s.countRevoked(res)
		ps.writeLine(raapi.RevokeLine{Result: &res})
	}
	if ps.err != nil {
		// The client is gone or stuck: it does not know the outcome, so the
		// log must say it (the audit log has the revocation either way).
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "revocation stream broken", slog.String("actor", a.ID()),
			slog.String("error", ps.err.Error()), slog.Bool("revoked", err == nil))
	}
	return nil
}

func (s *server) countRevoked(res ra.RevokeResult) {
	if n := res.RevokedCount; n > 0 {
		s.m.revoked.WithLabelValues(ra.ReasonName(res.Reason)).Add(float64(n))
	}
}

// acceptsNDJSON reports whether the Accept header lists raapi.MediaNDJSON with a
// non-zero quality.
func acceptsNDJSON(h http.Header) bool {
	for _, v := range h.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != raapi.MediaNDJSON {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// progressStream writes the progress lines of one revocation. observe is
// called by the CA; run, on its own goroutine, turns observations into
// rate-limited lines until stop; after stop the handler goroutine owns
// the writer again for the final line.
type progressStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu     sync.Mutex
	latest raapi.RevokeProgress
	seen   bool // observe was called at least once

	notify   chan struct{} // capacity 1: "latest changed", coalesced
	quit     chan struct{}
	exited   chan struct{}
	stopOnce sync.Once

	// Owned by run until it exits, then by the handler goroutine.
	started   bool // the 200 header is out: the answer is a stream
	sent      raapi.RevokeProgress
	lastWrite time.Time
	err       error // the first write failure; later writes are skipped
}

func newProgressStream(w http.ResponseWriter) *progressStream {
	return &progressStream{w: w, rc: http.NewResponseController(w),
		notify: make(chan struct{}, 1), quit: make(chan struct{}), exited: make(chan struct{})}
}

// observe is the ca.RevokeProgressFunc: it records and signals, never blocks.
func (p *progressStream) observe(done, total int) {
	p.mu.Lock()
	p.latest, p.seen = raapi.RevokeProgress{Done: done, Total: total}, true
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

func (p *progressStream) snapshot() (raapi.RevokeProgress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.seen
}

func (p *progressStream) run() {
	defer close(p.exited)
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	var tick <-chan time.Time // nil until the stream starts
	for {
		select {
		case <-p.notify:
			cur, _ := p.snapshot()
			switch {
			case !p.started:
				p.start()
				ticker = time.NewTicker(revokeProgressEvery)
				tick = ticker.C
				p.writeProgress(cur)
			case cur.Done >= cur.Total:
				// All marked: the client switches to "committing" now.
				p.writeProgress(cur)
			}
		case <-tick:
			cur, _ := p.snapshot()
			since := time.Since(p.lastWrite)
			if (cur != p.sent && since >= revokeProgressEvery) || since >= revokeKeepAlive {
				p.writeProgress(cur)
			}
		case <-p.quit:
			// Revoke has returned, so every observe happened before this
			// snapshot: a progress report not yet written still starts the
			// stream, and the last one is always sent before the result.
			cur, seen := p.snapshot()
			if seen && !p.started {
				p.start()
			}
			if p.started && cur != p.sent {
				p.writeProgress(cur)
			}
			return
		}
	}
}

// stop ends run and reports whether the answer is a stream.
func (p *progressStream) stop() bool {
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.exited
	return p.started
}

func (p *progressStream) start() {
	h := p.w.Header()
	h.Set("Content-Type", raapi.MediaNDJSON)
	h.Set("Cache-Control", "no-store")
	// Reverse proxies that buffer responses (nginx) would hold the lines
	// back until the end, which defeats the point.
	h.Set("X-Accel-Buffering", "no")
	p.w.WriteHeader(http.StatusOK)
	p.started = true
}

func (p *progressStream) writeProgress(pr raapi.RevokeProgress) {
	p.writeLine(raapi.RevokeLine{Progress: &pr})
	p.sent = pr
}

// writeLine writes v as one line and flushes it, within revokeLineWait.
func (p *progressStream) writeLine(v any) {
	if p.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		p.err = err
		return
	}
	// Extending the deadline is what lets a stream outlive the server's
	// WriteTimeout; a writer without deadlines (a test recorder) is fine.
	if err := p.rc.SetWriteDeadline(time.Now().Add(revokeLineWait)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		p.err = err
		return
	}
	if _, err := p.w.Write(append(b, '\n')); err != nil {
		p.err = err
		return
	}
	if err := p.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		p.err = err
		return
	}
	p.lastWrite = time.Now()
}
