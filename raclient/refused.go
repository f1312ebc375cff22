package raclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/smki/smki/ra/raerr"
)

// handshakeRefusal turns the RA refusing the client's credential during
// the TLS handshake (a bad_certificate alert) into a coded refusal, so no
// raw TLS text reaches the user (issue 12 finding 8). The RA refuses a
// credential there when it is on the access CA's revocation list: if the
// credential still chains to its own ca.pem and has not expired, that is
// the reason (E_RA_OFFICER_INACTIVE, as the RA answers after the
// handshake); otherwise E_RA_UNAUTHENTICATED. Any other error is returned
// as it is.
func handshakeRefusal(err error, cfg *tls.Config) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil || !strings.Contains(op.Err.Error(), "bad certificate") {
		return err
	}
	if cfg != nil && len(cfg.Certificates) > 0 && len(cfg.Certificates[0].Certificate) > 0 {
		leaf, perr := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
		if perr == nil {
			_, verr := leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, CurrentTime: time.Now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if verr == nil {
				return &APIError{Status: http.StatusForbidden, Code: raerr.ErrOfficerInactive.Error(), Message: fmt.Sprintf(
					"%v: the RA refused credential %x (officer %s) during the TLS handshake: it is on the access CA's revocation list "+
						"(the officer was removed, or the credential superseded by a renewal or re-issue); use the officer's current credential",
					raerr.ErrOfficerInactive, leaf.SerialNumber, leaf.Subject.CommonName)}
			}
		}
	}
	return &APIError{Status: http.StatusUnauthorized, Code: raerr.ErrUnauthenticated.Error(), Message: fmt.Sprintf(
		"%v: the RA refused this client credential during the TLS handshake (revoked, expired, or not issued by this RA's access CA); "+
			"use a current officer credential of this RA", raerr.ErrUnauthenticated)}
}
