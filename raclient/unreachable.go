package raclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
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
	// unsent: the failure came before the request could be sent (the
	// server's TLS certificate did not verify), so the RA did nothing.
	unsent bool
}

func (e *unreachableError) Error() string   { return e.msg }
func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// MayHaveActed reports whether err, the failure of a request that
// changes something, leaves open whether the RA carried it out: no
// answer came, but the request may have reached the RA, so the caller
// should find out (or send it again where that is safe, as smki enroll
// is). It is false for an answer (a refusal) and for a failure before
// anything was sent, such as a server certificate that does not verify.
func MayHaveActed(err error) bool {
	var ue *unreachableError
	return errors.As(err, &ue) && !ue.unsent
}

// unreachable is err, a failure to get an answer to method at base, as
// an ErrUnreachable that says why and, for a change, that it may have been
// carried out all the same (the answer can be lost after the RA acted),
// or that nothing was sent when the failure came before that.
func unreachable(method, base string, err error) error {
	reason, unsent := transportReason(err, time.Now())
	msg := fmt.Sprintf("%v: no answer from the RA at %s: %s", ErrUnreachable, base, reason)
	switch {
	case unsent:
		msg += "; nothing was sent"
	case method != http.MethodGet && method != http.MethodHead:
		msg += "; if the request reached the RA it may have been carried out"
	}
	return &unreachableError{msg: msg, err: err, unsent: unsent}
}

// transportReason is why a request got no answer, in smki's words, and
// whether that failure came before the request was sent. now is this
// machine's clock, against which the server's certificate was judged.
func transportReason(err error, now time.Time) (reason string, unsent bool) {
	var (
		dns     *net.DNSError
		ne      net.Error
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	var (
		proxy *proxyRefusedError
		op    *net.OpError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "the command was interrupted", false
	case errors.As(err, &proxy):
		return proxy.reason(), true
	case errors.As(err, &op) && op.Op == "proxyconnect":
		return proxyUnreachable(op.Err), true
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != nil:
		return certTimeReason(invalid.Cert, now), true
	case errors.As(err, &host) && host.Certificate != nil:
		return fmt.Sprintf("the server's TLS certificate is for %s, not %s: name one of those in --ra, "+
			"or have the RA's operator add %s to its names (smki serve --tls-name)", certNames(host.Certificate), host.Host, host.Host), true
	case errors.As(err, &unknown) && unknown.Cert != nil:
		return fmt.Sprintf("the server's TLS certificate (issued by %q) does not verify against the credential's ca.pem: "+
			"check that --ra names the RA that issued the credential; if that RA serves a certificate of its operator's own CA "+
			"(smki serve --tls-cert), append that CA's certificate to ca.pem", unknown.Cert.Issuer.String()), true
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &verify):
		return "the server's TLS certificate does not verify against the credential's ca.pem: check that --ra names the RA that issued the credential", true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "it did not answer in time; check that it is up (GET /readyz) and try again", false
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused; check --ra (host and port) and that the RA is running", false
	case errors.As(err, &dns):
		return "the host name does not resolve; check --ra", false
	case errors.As(err, &record):
		return "the server there does not speak TLS; check --ra (https:// and the RA's port)", false
	}
	return "the connection failed or was closed before the answer arrived; try again", false
}

// proxyRefusedError: the HTTPS proxy answered the CONNECT for the RA
// with something other than 200, so nothing reached the RA.
type proxyRefusedError struct {
	proxy, target, status string
	code                  int
}

func (e *proxyRefusedError) Error() string {
	return fmt.Sprintf("proxy %s refused CONNECT %s: %s", e.proxy, e.target, e.status)
}

// proxyRefusal is the client transport's OnProxyConnectResponse: a
// CONNECT answered with anything but 200 becomes a proxyRefusedError
// (net/http's own error is the bare status text).
func proxyRefusal(_ context.Context, proxyURL *url.URL, req *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &proxyRefusedError{proxy: proxyURL.Redacted(), target: req.URL.Host, status: resp.Status, code: resp.StatusCode}
}

func (e *proxyRefusedError) reason() string {
	if e.code == http.StatusProxyAuthRequired {
		return fmt.Sprintf("the HTTPS proxy %s asks for credentials (%s): give them in its URL, "+
			"HTTPS_PROXY=http://USER:PASSWORD@host:port", e.proxy, e.status)
	}
	return fmt.Sprintf("the HTTPS proxy %s refused to open a tunnel to %s (it answered %s): ask the proxy's administrators "+
		"to allow CONNECT to that host and port, or, if the RA is reached directly, list its host in NO_PROXY", e.proxy, e.target, e.status)
}

// proxyUnreachable is why the HTTPS proxy itself (HTTPS_PROXY) could not
// be reached; err is the dial's error.
func proxyUnreachable(err error) string {
	addr := "that HTTPS_PROXY names"
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		addr = op.Addr.String() + " " + addr
	}
	why := "the connection failed"
	var (
		dns *net.DNSError
		ne  net.Error
	)
	switch {
	case errors.As(err, &dns):
		why = "its host name does not resolve"
		if dns.Name != "" {
			addr = dns.Name + " " + addr
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "the connection was refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		why = "it did not answer in time"
	}
	return fmt.Sprintf("the HTTPS proxy %s could not be reached (%s): check HTTPS_PROXY (or https_proxy), "+
		"or, if the RA is reached directly, list its host in NO_PROXY", addr, why)
}

// certTimeReason is why cert, the server's, is outside its validity by
// this machine's clock (now): most often a wrong clock on one side.
func certTimeReason(cert *x509.Certificate, now time.Time) string {
	const layout = "2006-01-02 15:04:05 MST"
	if now.Before(cert.NotBefore) {
		return fmt.Sprintf("the server's TLS certificate is not valid until %s, and this machine's clock says %s: "+
			"check this machine's clock (and the RA's), then try again",
			cert.NotBefore.UTC().Format(layout), now.UTC().Format(layout))
	}
	return fmt.Sprintf("the server's TLS certificate expired at %s by this machine's clock (%s): check this machine's clock; "+
		"if it is right, tell the RA's operator that the server's certificate has expired",
		cert.NotAfter.UTC().Format(layout), now.UTC().Format(layout))
}

// certNames lists the DNS names and IP addresses cert is for.
func certNames(cert *x509.Certificate) string {
	names := append([]string(nil), cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}
