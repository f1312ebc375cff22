package raclient

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/smki/smki/ra/raerr"
)

// BackupStore downloads an online copy of the RA's store
// (GET /v1/store/backup; ra-operators, bbolt engine) into w and returns
// its size. A copy cut short (the server failed mid-stream) is an error,
// never a short file reported as whole. It is not bounded by the
// client's usual answer limit, but by the context: give it a deadline.
func (c *Client) BackupStore(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/store/backup", nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	hc := *c.hc
	hc.Timeout = 0 // a store may take longer than one API answer; ctx bounds it
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return 0, apiError(resp.StatusCode, data)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("backup cut short after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("backup cut short: %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}
