package raclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// ErrUnreachable: the request got no answer from the RA (nothing listens
// at the URL, a timeout, the connection closed, the server's certificate
// not this RA's). errors.Is matches it; the error also unwraps to the
// transport's own (context.DeadlineExceeded, ...) for callers, while its
// text is smki's own sentence: no raw net or TLS text reaches a user.
var ErrUnreachable = errors.New("E_RA_UNREACHABLE")

type unreachableError struct {
	msg string
	err error
}

func (e *unreachableError) Error() string   { return e.msg }
func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// unreachable is err, a failure to get an answer to method at base, as
// an ErrUnreachable that says why and, for a change, that it may have been
// carried out all the same (the answer can be lost after the RA acted).
func unreachable(method, base string, err error) error {
	msg := fmt.Sprintf("%v: no answer from the RA at %s: %s", ErrUnreachable, base, transportReason(err))
	if method != http.MethodGet && method != http.MethodHead {
		msg += "; if the request reached the RA it may have been carried out"
	}
	return &unreachableError{msg: msg, err: err}
}

// transportReason is why a request got no answer, in smki's words.
func transportReason(err error) string {
	var (
		dns     *net.DNSError
		ne      net.Error
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "the command was interrupted"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "it did not answer in time; check that it is up (GET /readyz) and try again"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused; check --ra (host and port) and that the RA is running"
	case errors.As(err, &dns):
		return "the host name does not resolve; check --ra"
	case errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid), errors.As(err, &verify):
		return "the server's TLS certificate does not verify against the credential's ca.pem for that name; check that --ra names the RA that issued the credential"
	case errors.As(err, &record):
		return "the server there does not speak TLS; check --ra (https:// and the RA's port)"
	}
	return "the connection failed or was closed before the answer arrived; try again"
}
