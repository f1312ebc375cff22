package records

import (
	"fmt"

	"github.com/smki/smki/ca/profilename"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// GoodCerts lists the good certificates of users that f selects: never
// the RA's own (IsSystemCert).
func GoodCerts(tx store.Tx, f store.CertFilter) ([]store.Certificate, error) {
	cs, err := tx.ListCertificates(f)
	if err != nil {
		return nil, fmt.Errorf("%w: list certificates: %w", raerr.ErrInternal, err)
	}
	out := cs[:0]
	for _, c := range cs {
		if c.UserID != "" && c.Status == store.StatusGood && !IsSystemCert(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// IsSystemCert reports whether c is one of the RA's own certificates.
func IsSystemCert(c store.Certificate) bool {
	return c.Profile == string(profilename.DSPXMLSigning)
}
