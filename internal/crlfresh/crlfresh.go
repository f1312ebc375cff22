// Package crlfresh owns one rule: how fresh a CRL is at a moment, from its
// thisUpdate and nextUpdate. smki's CA grades its own ARL and ORL with it
// (ca.CRLStatus, smki serve's /healthz, the refresh at half life) and the
// verifier the CRLs it holds (Verify's STALE, the sidecar's /readyz), so
// the issuer and its relying parties agree to the second. It decides
// nothing about what to do with a grade and imports only the standard
// library.
package crlfresh

import "time"

// State is a CRL's freshness at a moment.
type State string

// The states, in the order a CRL passes through them.
const (
	// OK: before half its lifetime.
	OK State = "ok"
	// Stale: from half its lifetime on. smki reissues a CRL then, so a
	// relying party still holding it has missed a reissue, and an
	// offline Root's ARL needs a key ceremony.
	Stale State = "stale"
	// Expired: from nextUpdate on. By then the next CRL must have been
	// issued (RFC 5280 5.1.2.5), and a relying party rejects this one
	// (OpenSSL's check_crl_time, Go's old CertificateList.HasExpired
	// after golang/go#22568: expired at nextUpdate itself).
	Expired State = "expired"
)

// Grade is the state at now of a CRL with thisUpdate and nextUpdate.
func Grade(thisUpdate, nextUpdate, now time.Time) State {
	switch {
	case PastNextUpdate(nextUpdate, now):
		return Expired
	case !now.Before(thisUpdate.Add(nextUpdate.Sub(thisUpdate) / 2)):
		return Stale
	}
	return OK
}

// PastNextUpdate reports whether a CRL with nextUpdate has expired at
// now: Grade's Expired, for a caller that holds only nextUpdate.
func PastNextUpdate(nextUpdate, now time.Time) bool {
	return !now.Before(nextUpdate)
}
