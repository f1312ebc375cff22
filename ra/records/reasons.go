package records

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/smki/smki/ra/raerr"
)

// RFC 5280 CRLReason codes an RA may use for an Organisation Certificate.
// cACompromise and aACompromise are for CA certificates, certificateHold
// is not supported (no un-hold), removeFromCRL is for delta CRLs only, and 7
// is unused: all are refused with raerr.ErrBadReason.
var reasons = map[string]int{
	"unspecified":          0,
	"keyCompromise":        1,
	"affiliationChanged":   3,
	"superseded":           4,
	"cessationOfOperation": 5,
	"privilegeWithdrawn":   9,
}

// ParseReason accepts an RFC 5280 reason by name (case-insensitive, e.g.
// "keyCompromise") or number ("1"); "" is unspecified (0).
func ParseReason(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		for _, v := range reasons {
			if v == n {
				return n, nil
			}
		}
		return 0, fmt.Errorf("%w: reason %d is not allowed for Organisation Certificates", raerr.ErrBadReason, n)
	}
	for name, v := range reasons {
		if strings.EqualFold(name, s) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown reason %q", raerr.ErrBadReason, s)
}

// ReasonName returns the RFC 5280 name of reason code n.
func ReasonName(n int) string {
	for name, v := range reasons {
		if v == n {
			return name
		}
	}
	return strconv.Itoa(n)
}
