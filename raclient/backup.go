package raclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/smki/smki/ra/raerr"
)

// BackupStore downloads an online copy of the RA's store
// (GET /v1/store/backup; ra-operators, bbolt engine) into w and returns
// its size. A copy cut short (the server failed mid-stream) is an error,
// never a short file reported as whole. It is not bounded by the
// client's usual answer limit, nor cut by the client's timeout while it
// keeps arriving: the timeout bounds each wait for more of it (as in
// RevokeWithProgress), and the context bounds the whole.
func (c *Client) BackupStore(ctx context.Context, w io.Writer) (int64, error) {
	ctx, touch, stop := c.idleBound(ctx, func(idle time.Duration) error {
		return fmt.Errorf("no more of the copy for %s: %w", idle, context.DeadlineExceeded)
	})
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/store/backup", nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	hc := *c.hc
	hc.Timeout = 0 // the idle bound above instead: a store may take longer than one API answer
	resp, err := hc.Do(req)
	if err != nil {
		return 0, unreachable(http.MethodGet, c.base, causeOr(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return 0, apiError(resp.StatusCode, data)
	}
	n, err := io.Copy(w, touchReader{resp.Body, touch})
	if err == nil && ctx.Err() != nil {
		// The bound fired while the copy was read: the transport can then
		// end the body as if whole, so the copy is not trusted to be.
		err = ctx.Err()
	}
	if err != nil {
		return n, fmt.Errorf("backup cut short after %d bytes: %w", n, unreachable(http.MethodGet, c.base, causeOr(ctx, err)))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("backup cut short: %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}

// touchReader calls touch after each read that returns data.
type touchReader struct {
	r     io.Reader
	touch func()
}

func (t touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.touch()
	}
	return n, err
}
