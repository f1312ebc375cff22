package raclient

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/smki/smki/ra/raerr"
)

// CAChain returns the PEM of the Issuing OCA then the Root OCA, as the
// server publishes them (GET /ca/issuing.pem, GET /roots): what follows an
// Organisation Certificate in a chain file.
func (c *Client) CAChain(ctx context.Context) ([]byte, error) {
	iss, err := c.getRaw(ctx, "/ca/issuing.pem")
	if err != nil {
		return nil, err
	}
	root, err := c.getRaw(ctx, "/roots")
	if err != nil {
		return nil, err
	}
	return append(iss, root...), nil
}

// getRaw GETs path and returns the body of a 200 answer.
func (c *Client) getRaw(ctx context.Context, path string) ([]byte, error) {
	return c.getRawUpTo(ctx, path, maxResponse)
}

// getRawUpTo is getRaw of an answer of at most limit bytes: a longer
// one is E_CLIENT_ANSWER_TOO_LARGE, never taken cut short.
func (c *Client) getRawUpTo(ctx context.Context, path string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp.StatusCode, data)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: the answer to GET %s is over %d bytes", ErrAnswerTooLarge, path, limit)
	}
	return data, nil
}
