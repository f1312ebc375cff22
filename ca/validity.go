package ca

import (
	"fmt"
	"time"
)

// Default validities. End-entity: 10 years, the length of DCC's Digital
// Signing test certificates (DCC's XML Signing test certificates run 100
// years, a test-tool artefact smki does not copy). CA: see InitOptions.
const (
	DefaultEndEntityYears  = 10
	DefaultRootValidity    = 25 * 365 * 24 * time.Hour
	DefaultIssuingValidity = 15 * 365 * 24 * time.Hour
)

// window returns the validity of a certificate starting at notBefore
// (truncated to the second, UTC) that lasts validity (zero: years calendar
// years), DCC style: notAfter is 23:59:59 UTC of the day before the day on
// which the period ends, so a certificate from 2015-10-30 00:00:00 for 10
// years ends 2025-10-29 23:59:59, never later than asked. notAfter is also
// capped at limit (the issuer's notAfter) when limit is not zero.
func window(notBefore time.Time, validity time.Duration, years int, limit time.Time) (time.Time, time.Time, error) {
	nb := notBefore.UTC().Truncate(time.Second)
	end := nb.AddDate(years, 0, 0)
	if validity != 0 {
		end = nb.Add(validity)
	}
	na := endOfPreviousDay(end)
	if !limit.IsZero() && na.After(limit) {
		na = endOfPreviousDay(limit.Add(time.Second))
	}
	if !na.After(nb) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: validity %v from %s ends before it starts once cut to 23:59:59 (issuer valid to %s)",
			ErrBadRequest, validity, nb.Format(time.RFC3339), limit.Format(time.RFC3339))
	}
	return nb, na, nil
}

// endOfPreviousDay is 23:59:59 UTC of the day before t's UTC day; for a t
// that is not midnight that is still before t.
func endOfPreviousDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Add(-time.Second)
}
