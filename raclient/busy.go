package raclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/smki/smki/ra/raerr"
)

// DefaultBusyRetries is how often a Client sends a request again after
// the RA answered E_RA_BUSY (503, nothing written) before returning that
// answer.
const DefaultBusyRetries = 5

// Backoff bounds between busy retries: the first wait is at least
// busyBase (or the server's Retry-After, if longer), doubling up to
// busyMax.
const (
	busyBase = 250 * time.Millisecond
	busyMax  = 8 * time.Second
)

// BusyRetry describes one retry after E_RA_BUSY, for SetBusyRetry's notify.
type BusyRetry struct {
	Attempt int           // the retry about to be made: 1, 2, ...
	Of      int           // the most retries that will be made
	Wait    time.Duration // how long the client waits first
	Err     *APIError     // the busy answer
}

// SetBusyRetry sets how often c retries a request the RA refused with
// E_RA_BUSY (retries >= 0; 0 turns it off), and notify, if not nil, is
// called before each wait (the CLI says so on stderr). The RA answers
// E_RA_BUSY only when it wrote nothing, so any request, a change too, may
// be sent again. The wait honours the answer's Retry-After and grows
// exponentially, with jitter so that many clients do not return at once.
func (c *Client) SetBusyRetry(retries int, notify func(BusyRetry)) {
	c.busyRetries, c.busyNotify = max(retries, 0), notify
}

// retryBusy runs call, and again while it fails with E_RA_BUSY and the
// budget and ctx allow.
func (c *Client) retryBusy(ctx context.Context, call func() error) error {
	for n := 1; ; n++ {
		err := call()
		var ae *APIError
		if err == nil || n > c.busyRetries || !errors.As(err, &ae) || ae.Code != raerr.ErrBusy.Error() {
			return err
		}
		wait := busyWait(n, ae.RetryAfter)
		if c.busyNotify != nil {
			c.busyNotify(BusyRetry{Attempt: n, Of: c.busyRetries, Wait: wait, Err: ae})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// busyWait is the wait before retry n (1-based): the larger of the
// server's Retry-After and busyBase doubled n-1 times, at most busyMax
// (but never less than Retry-After), plus up to a quarter of jitter.
func busyWait(n int, retryAfter time.Duration) time.Duration {
	d := min(busyBase<<min(n-1, 10), busyMax)
	d = max(d, retryAfter)
	return d + rand.N(d/4+1)
}

// retryAfter reads a Retry-After header in seconds (0 if absent or not
// delta-seconds; an HTTP date is not used by the RA). It is capped at
// busyMax: a server cannot park the client for long.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, busyMax)
}
