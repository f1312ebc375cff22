package raserver

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/smki/smki/ra"
)

// revocations serves GET /v1/revocations?since=SEQ[&wait=DURATION][&parties=M]: the
// signed feed envelope (Service.Revocations), as is: the bytes are the
// signed document, so they are not re-encoded.
func (s *server) revocations(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	q := r.URL.Query()
	raw := q.Get("since")
	since, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: since %q is not a decimal sequence number", ra.ErrBadRequest, raw)
	}
	wait := ra.DefaultFeedWait
	if raw := q.Get("wait"); raw != "" {
		if wait, err = parseWait(raw); err != nil {
			return err
		}
	}
	// The long poll outlives the server's write timeout: this answer has
	// its own deadline, the wait and a margin to sign and send it.
	if wait > 0 {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + longAnswerGrace))
	}
	fq := ra.FeedQuery{Since: since, Wait: wait}
	if raw := q.Get("parties"); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: parties %q is not a decimal sequence number", ra.ErrBadRequest, raw)
		}
		fq.Parties = &n
	}
	env, err := s.svc.Feed(r.Context(), a, fq)
	if err != nil {
		if r.Context().Err() != nil {
			// The follower went away (or the server is shutting down):
			// nobody is left to read an error.
			return nil
		}
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(env)
	return nil
}

// parseWait reads wait= as a Go duration ("30s") or a number of seconds.
func parseWait(raw string) (time.Duration, error) {
	if n, err := strconv.ParseUint(raw, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: wait %q is not a duration such as 30s", ra.ErrBadRequest, raw)
	}
	return d, nil
}

// longAnswerGrace is how long a long answer (feed long poll, store backup
// chunk) may take to write beyond its own waiting.
const longAnswerGrace = 30 * time.Second
