package raclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/smki/smki/ra/raerr"
)

// handshakeRefusal turns the RA refusing the client's credential during
// the TLS handshake (a certificate alert: bad certificate, expired
// certificate, unknown certificate authority, ...) into a coded refusal,
// so no raw TLS text reaches the user (issue 12 finding 8), and says which
// of its reasons applies, judged from the credential itself: expired (it
// cannot renew itself: re-issue), not from the access CA of its own
// ca.pem (a file from elsewhere), or current and from the RA's access CA,
// so on its revocation list (E_RA_OFFICER_INACTIVE, as the RA answers
// after the handshake). Otherwise E_RA_UNAUTHENTICATED. Any other error
// is returned as it is.
func handshakeRefusal(err error, cfg *tls.Config) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil || !certificateAlert(op.Err.Error()) {
		return err
	}
	if cfg != nil && len(cfg.Certificates) > 0 && len(cfg.Certificates[0].Certificate) > 0 {
		leaf, perr := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
		if perr == nil {
			now := time.Now()
			if now.After(leaf.NotAfter) {
				return &APIError{Status: http.StatusUnauthorized, Code: raerr.ErrUnauthenticated.Error(), Message: fmt.Sprintf(
					"%v: the RA refused credential %x (officer %s) during the TLS handshake: it expired on %s, and an expired credential "+
						"cannot renew itself. Make a new key (smki officer keygen --out DIR) and send DIR/officer.csr to an officer who may "+
						"appoint you, who re-issues your credential for it (smki officer reissue --id %s --csr officer.csr --out DIR)",
					raerr.ErrUnauthenticated, leaf.SerialNumber, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format("2006-01-02 15:04 MST"),
					leaf.Subject.CommonName)}
			}
			if op.Err.Error() == "tls: expired certificate" {
				// The RA judged the credential outside its validity by its
				// own clock, while by this machine's it is within it (above):
				// one of the two clocks is wrong.
				const layout = "2006-01-02 15:04:05 MST"
				return &APIError{Status: http.StatusUnauthorized, Code: raerr.ErrUnauthenticated.Error(), Message: fmt.Sprintf(
					"%v: the RA refused credential %x (officer %s) during the TLS handshake as outside its validity (%s to %s), "+
						"though this machine's clock (%s) is within it: the RA's clock or this machine's is wrong; check both (NTP), then try again",
					raerr.ErrUnauthenticated, leaf.SerialNumber, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(layout),
					leaf.NotAfter.UTC().Format(layout), now.UTC().Format(layout))}
			}
			_, verr := leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if verr == nil {
				return &APIError{Status: http.StatusForbidden, Code: raerr.ErrOfficerInactive.Error(), Message: fmt.Sprintf(
					"%v: the RA refused credential %x (officer %s) during the TLS handshake: it is on the access CA's revocation list "+
						"(the officer was removed, or the credential superseded by a renewal or re-issue); use the officer's current credential",
					raerr.ErrOfficerInactive, leaf.SerialNumber, leaf.Subject.CommonName)}
			}
			return &APIError{Status: http.StatusUnauthorized, Code: raerr.ErrUnauthenticated.Error(), Message: fmt.Sprintf(
				"%v: the RA refused credential %x (officer %s) during the TLS handshake: its cert.pem was not issued by the access CA "+
					"of its ca.pem, so the files come from different credentials or RAs; use the credential directory as smki officer add "+
					"(or renew) wrote it, for the RA at --ra", raerr.ErrUnauthenticated, leaf.SerialNumber, leaf.Subject.CommonName)}
		}
	}
	return &APIError{Status: http.StatusUnauthorized, Code: raerr.ErrUnauthenticated.Error(), Message: fmt.Sprintf(
		"%v: the RA refused this client credential during the TLS handshake (revoked, expired, or not issued by this RA's access CA); "+
			"use a current officer credential of this RA", raerr.ErrUnauthenticated)}
}

// certificateAlert reports whether a TLS alert's text (crypto/tls keeps
// the alert type unexported) is the peer refusing our certificate.
func certificateAlert(text string) bool {
	for _, a := range []string{"bad certificate", "expired certificate", "unknown certificate authority",
		"revoked certificate", "unknown certificate", "unsupported certificate"} {
		if text == "tls: "+a {
			return true
		}
	}
	return false
}
