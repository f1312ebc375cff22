package raclient

import (
	"context"
	"net/http"

	"github.com/smki/smki/ra/raapi"
)

// Trust: GET /v1/trust, what a verifier needs (raapi.Trust). The bundle is
// included when the client's officer may read it. Nothing in the answer is
// trusted for coming over this connection: write it with the verifier's
// trust directory layout and check it (verifier.LoadTrust, Trust.Options).
func (c *Client) Trust(ctx context.Context) (raapi.Trust, error) {
	var t raapi.Trust
	return t, c.do(ctx, http.MethodGet, "/v1/trust", nil, &t)
}
