package raserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/role"
)

// Parsing of wire values into the RA's types; a bad value gets the RA's
// error code (the server, not encoding/json, chooses it).

// optEUI and reqEUI read EUI-64 values; raapi owns the rule (the
// console reads its form fields with the same functions).
var (
	optEUI = raapi.OptEUI
	reqEUI = raapi.ParseEUI
)

func parseRole(s string) (role.UserRole, error) {
	r, err := role.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ra.ErrInvalidRole, err)
	}
	return r, nil
}

// parseReasonJSON accepts "keyCompromise", "1" or 1; absent is unspecified.
func parseReasonJSON(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return ra.ParseReason(strconv.Itoa(n))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%w: reason must be a name or a number", ra.ErrBadReason)
	}
	return ra.ParseReason(s)
}

// optTime parses an optional RFC 3339 time ("" is nil).
func optTime(what, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q is not an RFC 3339 time", ra.ErrBadRequest, what, s)
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
