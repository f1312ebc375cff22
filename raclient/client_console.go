package raclient

import (
	"context"
	"net/http"

	"github.com/smki/smki/ra/raapi"
)

// ConsoleLoginLink asks the RA for a single-use console login link bound
// to this client's officer credential (POST /console/login-link); it
// works once, within a minute.
func (c *Client) ConsoleLoginLink(ctx context.Context) (raapi.LoginLink, error) {
	var l raapi.LoginLink
	return l, c.do(ctx, http.MethodPost, "/console/login-link", nil, &l)
}
