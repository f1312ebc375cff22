package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ra/ownpki"
)

// validTLSName reports whether name can go in a server certificate: an IP
// address, or a DNS name of letters, digits and hyphens in dot-separated
// labels (no wildcard: the RA is one host).
func validTLSName(name string) bool {
	if net.ParseIP(name) != nil {
		return true
	}
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// tlsExpiryWarning: a served certificate with less than this left is
// logged as a warning (at load, then at most daily): an operator
// certificate is due for renewal, or the access CA's renewal keeps failing.
const tlsExpiryWarning = 30 * 24 * time.Hour

// certSource serves the current server certificate; ReloadTLS swaps it
// without touching connections already established. With renew set (the
// access CA's certificate, 90 days), a handshake that finds the served
// certificate past two thirds of its lifetime first swaps in a fresh one,
// so a server running for months never serves an expired certificate.
type certSource struct {
	cur   atomic.Pointer[tls.Certificate]
	renew func() (tls.Certificate, error)
	now   func() time.Time
	log   *slog.Logger
	hint  string // what the expiry warning tells the operator to do

	mu      sync.Mutex
	retryAt time.Time // after a renewal that failed or gained nothing
	// warnedAt is when the expiry warning was last logged (Unix ns).
	warnedAt atomic.Int64
}

func (c *certSource) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert := c.cur.Load()
	now := c.now()
	if c.renew != nil && !now.Before(renewAt(cert.Leaf)) {
		cert = c.renewDue(now)
	}
	c.warnNearExpiry(cert.Leaf, now)
	return cert, nil
}

// renewAt is when a certificate is renewed: two thirds into its lifetime.
func renewAt(leaf *x509.Certificate) time.Time {
	return leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) * 2 / 3)
}

// renewDue issues a fresh certificate if the served one is still due and
// no recent attempt failed, and returns the one to serve. On error the
// old certificate stays and the next attempt waits a minute.
func (c *certSource) renewDue(now time.Time) *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	if now.Before(renewAt(old.Leaf)) || now.Before(c.retryAt) {
		return old
	}
	cert, err := c.renew()
	if err != nil {
		c.retryAt = now.Add(time.Minute)
		c.log.Error("TLS server certificate not renewed; still serving the old one", "err", err,
			"serial", fmt.Sprintf("%x", old.Leaf.SerialNumber), "not_after", old.Leaf.NotAfter)
		return old
	}
	if !cert.Leaf.NotAfter.After(old.Leaf.NotAfter) {
		// Capped by the access root's own expiry: renewing again gains
		// nothing, so try again only hourly.
		c.retryAt = now.Add(time.Hour)
	}
	c.cur.Store(&cert)
	c.log.Info("TLS server certificate renewed by the RA access CA", "serial", fmt.Sprintf("%x", cert.Leaf.SerialNumber),
		"not_after", cert.Leaf.NotAfter, "previous_serial", fmt.Sprintf("%x", old.Leaf.SerialNumber))
	return &cert
}

// warnNearExpiry logs, at most daily, that the served certificate expires
// within tlsExpiryWarning.
func (c *certSource) warnNearExpiry(leaf *x509.Certificate, now time.Time) {
	left := leaf.NotAfter.Sub(now)
	if left >= tlsExpiryWarning {
		return
	}
	last := c.warnedAt.Load()
	if last != 0 && now.UnixNano()-last < int64(24*time.Hour) {
		return
	}
	if !c.warnedAt.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	c.log.Warn("TLS server certificate expires soon: "+c.hint, "serial", fmt.Sprintf("%x", leaf.SerialNumber),
		"not_after", leaf.NotAfter, "left", left.Round(time.Minute).String())
}

// expiry is the served certificate's notAfter in Unix seconds, for
// smki_server_tls_cert_expiry_timestamp_seconds.
func (c *certSource) expiry() float64 {
	if cert := c.cur.Load(); cert != nil && cert.Leaf != nil {
		return float64(cert.Leaf.NotAfter.Unix())
	}
	return 0
}

// tlsConfig is the server's TLS: TLS 1.2 at least (Go prefers 1.3), the
// operator's certificate if Config names one, else a certificate from the
// access CA for Config.TLSNames, the listen host and localhost. Roots,
// CRLs and health are public; the RA API requires a verified officer
// certificate and checks for one on every request, so a client
// certificate is verified against the access root if given.
func (s *Server) tlsConfig(access *ownpki.AccessCA) (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.certs.get,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      access.Pool(),
	}
	s.certs.now, s.certs.log = s.cfg.Now, s.log
	if s.cfg.TLSCertFile != "" {
		s.certs.hint = "put a renewed certificate and key in tls.cert and tls.key, then systemctl reload smki"
		s.access = access
		return conf, s.ReloadTLS()
	}
	names := s.tlsNames()
	s.certs.renew = func() (tls.Certificate, error) { return access.ServerCertificate(names...) }
	s.certs.hint = "the RA access CA could not renew it (see the errors logged); fix that or restart the server"
	cert, err := s.certs.renew()
	if err != nil {
		return nil, err
	}
	s.certs.cur.Store(&cert)
	s.log.Info("TLS server certificate issued by the RA access CA", "dns_names", cert.Leaf.DNSNames,
		"ip_addresses", fmt.Sprint(cert.Leaf.IPAddresses), "serial", fmt.Sprintf("%x", cert.Leaf.SerialNumber),
		"not_after", cert.Leaf.NotAfter)
	return conf, nil
}

// tlsNames are Config.TLSNames and the listen host (unless it is the
// unspecified address, which no client dials).
// The access CA always adds localhost, 127.0.0.1 and ::1; none is repeated.
func (s *Server) tlsNames() []string {
	seen := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	var names []string
	host, _, _ := net.SplitHostPort(s.cfg.Listen)
	for _, n := range append(append([]string(nil), s.cfg.TLSNames...), host) {
		key := strings.ToLower(n)
		if ip := net.ParseIP(n); ip != nil {
			if ip.IsUnspecified() {
				continue
			}
			key = ip.String()
		}
		if n == "" || seen[key] {
			continue
		}
		seen[key] = true
		names = append(names, n)
	}
	return names
}

// servedCAs are the CA certificates that verify an operator's served
// certificate, as its tls.cert file gives them: the certificates after
// the leaf (intermediates, a root), or the leaf itself when it is
// self-signed and alone. A leaf alone from another CA gives none.
func servedCAs(cert tls.Certificate) []*x509.Certificate {
	var cas []*x509.Certificate
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil && c.IsCA {
			cas = append(cas, c)
		}
	}
	if len(cas) == 0 && cert.Leaf != nil && bytes.Equal(cert.Leaf.RawIssuer, cert.Leaf.RawSubject) &&
		cert.Leaf.CheckSignature(cert.Leaf.SignatureAlgorithm, cert.Leaf.RawTBSCertificate, cert.Leaf.Signature) == nil {
		cas = append(cas, cert.Leaf)
	}
	return cas
}

// ReloadTLS reads the operator certificate and key (Config.TLSCertFile,
// TLSKeyFile) again and serves them to new connections; on error the
// previous certificate stays. Without an operator certificate it does
// nothing (the access CA's certificate is renewed as it ages).
func (s *Server) ReloadTLS() error {
	if s.cfg.TLSCertFile == "" {
		return nil
	}
	cert, err := opfile.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	var pe *fs.PathError
	switch {
	case err == nil:
	case errors.Is(err, opfile.ErrTooLarge):
		return fmt.Errorf("%w: TLS certificate or key: %w", ErrConfig, err)
	case errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe):
		return fmt.Errorf("%w: TLS certificate or key: %s cannot be read: there is no such file; check tls.cert and tls.key (--tls-cert, --tls-key)", ErrConfig, pe.Path)
	case errors.As(err, &pe):
		return fmt.Errorf("%w: TLS certificate or key: %s cannot be read: %s; check tls.cert and tls.key (--tls-cert, --tls-key)", ErrConfig, pe.Path, durable.Reason(err))
	default: // crypto/tls's text names neither file
		return fmt.Errorf("%w: TLS certificate %s and key %s do not load as a PEM certificate chain and its private key; check both are PEM and belong together", ErrConfig, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	}
	s.certs.cur.Store(&cert)
	s.certs.warnedAt.Store(0) // a new certificate is judged afresh
	cas := servedCAs(cert)
	if s.access != nil {
		s.access.SetServerCAs(cas)
	}
	if len(cas) == 0 {
		s.log.Warn("officers' smki verifies the RA by the ca.pem of their credential, and the TLS certificate's CA is not in tls.cert: "+
			"put the certificate of the CA that issued it after it in the file (then systemctl reload smki), so that credentials carry it",
			"file", s.cfg.TLSCertFile)
	}
	s.certs.warnNearExpiry(cert.Leaf, s.cfg.Now())
	s.log.Info("TLS server certificate loaded", "file", s.cfg.TLSCertFile, "dns_names", cert.Leaf.DNSNames,
		"serial", fmt.Sprintf("%x", cert.Leaf.SerialNumber), "not_after", cert.Leaf.NotAfter)
	return nil
}
