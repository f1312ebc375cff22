package ra

import (
	"fmt"
	"strings"
	"time"
)

// JSON bodies of the SoLR, ADT, device, policy and bundle endpoints
// (docs/api.md). Times are RFC 3339 strings on the wire so that the
// server chooses the error code for a bad one.

type declareBody struct {
	FailedParty string `json:"failed_party"`
	SRPUser     string `json:"srp_user"`
	Instruction string `json:"instruction"`
	Start       string `json:"start,omitempty"`     // default now
	End         string `json:"end,omitempty"`       // default open-ended
	RevokeAt    string `json:"revoke_at,omitempty"` // RFC 3339, or "now" (default): at approval
}

type closeBody struct {
	Reason string `json:"reason,omitempty"`
}

type adtBody struct {
	File      []byte `json:"file"`      // base64 of the exact file bytes
	Signature []byte `json:"signature"` // base64 of the DER ECDSA signature
}

type devicesBody struct {
	CSV string `json:"csv"`
}

type allowListBody struct {
	SRVs []string `json:"srvs"`
}

// optTime parses an optional RFC 3339 time ("" is nil).
func optTime(what, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q is not an RFC 3339 time", ErrBadRequest, what, s)
	}
	t = t.UTC()
	return &t, nil
}

// revokeAtTime: "" or "now" is nil (revoke at approval).
func revokeAtTime(s string) (*time.Time, error) {
	if s == "" || strings.EqualFold(s, "now") {
		return nil, nil
	}
	return optTime("revoke_at", s)
}

func (r DeclareRequest) body() declareBody {
	b := declareBody{FailedParty: r.FailedParty.String(), SRPUser: r.SRPUser.String(), Instruction: r.Instruction}
	if !r.Start.IsZero() {
		b.Start = r.Start.UTC().Format(time.RFC3339Nano)
	}
	if r.End != nil {
		b.End = r.End.UTC().Format(time.RFC3339Nano)
	}
	if r.RevokeAt != nil {
		b.RevokeAt = r.RevokeAt.UTC().Format(time.RFC3339Nano)
	}
	return b
}
