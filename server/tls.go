package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

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

// certSource serves the current server certificate; ReloadTLS swaps it
// without touching connections already established.
type certSource struct {
	cur atomic.Pointer[tls.Certificate]
}

func (c *certSource) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }

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
	if s.cfg.TLSCertFile != "" {
		return conf, s.ReloadTLS()
	}
	names := s.tlsNames()
	cert, err := access.ServerCertificate(names...)
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

// ReloadTLS reads the operator certificate and key (Config.TLSCertFile,
// TLSKeyFile) again and serves them to new connections; on error the
// previous certificate stays. Without an operator certificate it does
// nothing (the access CA's certificate lives as long as the process).
func (s *Server) ReloadTLS() error {
	if s.cfg.TLSCertFile == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return fmt.Errorf("%w: TLS certificate %s / key %s: %v; check both are PEM and belong together", ErrConfig, s.cfg.TLSCertFile, s.cfg.TLSKeyFile, err)
	}
	s.certs.cur.Store(&cert)
	s.log.Info("TLS server certificate loaded", "file", s.cfg.TLSCertFile, "dns_names", cert.Leaf.DNSNames,
		"serial", fmt.Sprintf("%x", cert.Leaf.SerialNumber), "not_after", cert.Leaf.NotAfter)
	return nil
}
