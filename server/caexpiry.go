package server

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/ca"
)

// caExpiryWarning is how long before the Root or Issuing OCA certificate
// expires the server starts warning about it: a new Issuing OCA takes a
// key ceremony and reaching every relying party, and once the Issuing
// OCA has expired nothing can be issued (ca.ErrCAExpired).
const caExpiryWarning = 365 * 24 * time.Hour

// caExpiry watches the CA certificates' notAfter: a warning within
// caExpiryWarning (at start, then at most daily), an error once expired,
// a readiness reason once the Issuing OCA has expired, and
// smki_ca_cert_expiry_timestamp_seconds.
type caExpiry struct {
	certs []caCert
	log   *slog.Logger

	mu       sync.Mutex
	warnedAt time.Time
}

type caCert struct {
	label, name string // metric label, what the log calls it
	cert        *x509.Certificate
	// expired is what its expiry means and what to do, for the log and
	// /readyz.
	expired string
}

// The expiry of each CA certificate, and what to do about it: a new
// Issuing OCA for the Issuing OCA; for the Root, a new Issuing OCA would
// chain to the expired Root, so only a new Root OCA helps, and every
// relying party must be given it.
const (
	issuingExpired = "nothing can be issued under it; bring a new Issuing OCA into service (key ceremony)"
	rootExpired    = "no certificate under it is trusted any more, and a new Issuing OCA would chain to it; make a new Root OCA (key ceremony, docs/operations.md) and give it to every relying party"
)

func newCAExpiry(authority *ca.CA, log *slog.Logger) *caExpiry {
	return &caExpiry{log: log, certs: []caCert{
		{"issuing", "Issuing OCA", authority.Issuing(), issuingExpired},
		{"root", "Root OCA", authority.Root(), rootExpired},
	}}
}

// observe logs, at most daily, each CA certificate that expires within
// caExpiryWarning of now or has expired.
func (e *caExpiry) observe(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.warnedAt.IsZero() && now.Sub(e.warnedAt) < 24*time.Hour {
		return
	}
	for _, c := range e.certs {
		left := c.cert.NotAfter.Sub(now)
		switch {
		case left <= 0:
			e.log.Error(c.name+" certificate expired: "+c.expired, "code", ca.ErrCAExpired.Error(),
				"not_after", c.cert.NotAfter, "subject", c.cert.Subject.String())
		case left < caExpiryWarning:
			e.log.Warn(c.name+" certificate expires soon: prepare a new one (key ceremony) before certificates issued under it run short",
				"not_after", c.cert.NotAfter, "left_days", int(left.Hours()/24), "subject", c.cert.Subject.String())
		default:
			continue
		}
		e.warnedAt = now
	}
}

// notReady is the readiness reason once the Issuing OCA has expired ("":
// none), naming the Root instead once it has expired too (the Issuing
// OCA cannot outlive it), since then only a new Root helps.
func (e *caExpiry) notReady(now time.Time) string {
	for _, c := range []caCert{e.certs[1], e.certs[0]} {
		if !now.Before(c.cert.NotAfter) {
			return fmt.Sprintf("CA certificate: the %s certificate expired on %s; %s", c.name, c.cert.NotAfter.UTC().Format(time.RFC3339), c.expired)
		}
	}
	return ""
}

// register adds smki_ca_cert_expiry_timestamp_seconds{ca="issuing"|"root"}.
func (e *caExpiry) register(reg prometheus.Registerer) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smki_ca_cert_expiry_timestamp_seconds",
		Help: "When each CA certificate expires (Unix seconds): alert well ahead, a new Issuing OCA takes a key ceremony."}, []string{"ca"})
	for _, c := range e.certs {
		g.WithLabelValues(c.label).Set(float64(c.cert.NotAfter.Unix()))
	}
	return reg.Register(g)
}
