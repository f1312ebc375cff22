package verifier

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smki/smki/internal/buildinfo"
)

// Metrics are the sidecar's Prometheus metrics for one Verifier, on a
// registry the caller owns (never the global one):
//
//	smki_verifier_decisions_total{decision,code}  decisions answered
//	smki_verifier_verify_seconds                  latency of Verify
//	smki_verifier_bundle_age_seconds              now - bundle issued_at
//	smki_verifier_revocation_age_seconds          now - revocation data issued
//	smki_verifier_max_age_seconds                 the age past which it refuses STALE
//	smki_verifier_revocation_seq                  revocation sequence applied
//	smki_verifier_follower_errors_total{kind}     failed bundle / revocations syncs
//	smki_verifier_ready                           1 while /readyz answers 200, else 0
//	smki_verifier_state_*                         the StateFile's work, if it is one
//	smki_build_info{version,revision,go_version}  the running build
//
// The decision counters are resolved once per code at construction, so
// counting a decision is a map lookup and an atomic add: no allocation on
// the request path.
type Metrics struct {
	v        *Verifier
	reg      *prometheus.Registry
	byCode   map[string]prometheus.Counter // "" is accept
	unknown  prometheus.Counter            // a code this build does not know
	latency  prometheus.Histogram
	feedErrs map[string]prometheus.Counter
}

// Follower error kinds (the kind label of smki_verifier_follower_errors_total).
const (
	FollowBundle      = "bundle"
	FollowRevocations = "revocations"
)

// decisionsCounter is smki_verifier_decisions_total{decision,code}, in
// which Metrics counts every decision and UnreadyHandler its refusals.
func decisionsCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smki_verifier_decisions_total", Help: "Decisions answered, by decision and reason code.",
	}, []string{"decision", "code"})
}

// NewMetrics registers the verifier's metrics on reg. It fails (ErrConfig)
// if they are already registered there.
func NewMetrics(reg *prometheus.Registry, v *Verifier) (*Metrics, error) {
	m := &Metrics{v: v, reg: reg, byCode: map[string]prometheus.Counter{}, feedErrs: map[string]prometheus.Counter{}}
	decisions := decisionsCounter()
	m.byCode[""] = decisions.WithLabelValues(Accept, "")
	for _, c := range []string{CodeE1, CodePARTY, CodeE2, CodeE4, CodeAD1, CodeSIG, CodeCERT, CodeREVOKED, CodeREPLAY, CodeSTALE, CodeMALFORMED, CodeSTATE} {
		m.byCode[c] = decisions.WithLabelValues(Reject, c)
	}
	m.unknown = decisions.WithLabelValues(Reject, "other")
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "smki_verifier_verify_seconds", Help: "Time to decide one request (Verify).",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14), // 50us .. 0.4s
	})
	follower := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smki_verifier_follower_errors_total", Help: "Failed syncs with the RA, by kind (bundle, revocations).",
	}, []string{"kind"})
	for _, k := range []string{FollowBundle, FollowRevocations} {
		m.feedErrs[k] = follower.WithLabelValues(k)
	}
	cs := []prometheus.Collector{decisions, m.latency, follower,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smki_verifier_bundle_age_seconds", Help: "Age of the bundle in force (now - issued_at).",
		}, func() float64 { return v.clock().Sub(v.Bundle().IssuedAt).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smki_verifier_revocation_age_seconds", Help: "Age of the revocation data in force (now - the newest of the bundle's and the feed's issue times); past smki_verifier_max_age_seconds every request is refused STALE.",
		}, func() float64 { return v.clock().Sub(v.cur.Load().rev.freshAt).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smki_verifier_max_age_seconds", Help: "Oldest bundle and revocation data acted on (the smaller of --max-age and the bundle's max_age).",
		}, func() float64 { return v.effectiveMaxAge(v.Bundle()).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smki_verifier_state_durable", Help: "1 while accepts are made durable, 0 while the state cannot be (every would-be accept is refused STATE).",
		}, func() float64 {
			if v.StateError() != "" {
				return 0
			}
			return 1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smki_verifier_ready", Help: "1 while the verifier can accept (what /readyz answers 200 for), 0 while it cannot.",
		}, func() float64 {
			if len(v.notReady()) > 0 {
				return 0
			}
			return 1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smki_verifier_revocation_seq", Help: "Highest revocation sequence number applied.",
		}, func() float64 { return float64(v.RevocationSeq()) }),
		crlNextUpdate{v},
	}
	if v.certs != nil {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smki_verifier_certificate_lookups_total",
			Help: "Signer certificates looked up in the certificate source (the RA's repository): one per signer not yet held."},
			func() float64 { return float64(v.CertificateFetches()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smki_verifier_certificates_not_issued_total",
				Help: "Signers refused CERT without a lookup: the RA's issuance list, read after the request arrived, does not name their serial."},
				func() float64 { return float64(v.CertificatesNotIssued()) }))
		if v.certs.issued != nil {
			cs = append(cs,
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smki_verifier_issuance_list_complete",
					Help: "1 once the RA's issuance list has been read to the end (serials it does not name are then refused without a lookup), 0 before."},
					func() float64 {
						if _, complete := v.certs.issued.state(); complete {
							return 1
						}
						return 0
					}),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smki_verifier_issuance_list_serials",
					Help: "Serials read from the RA's issuance list."},
					func() float64 { n, _ := v.certs.issued.state(); return float64(n) }))
		}
	}
	if sf, ok := v.led.replay.(*StateFile); ok {
		stat := func(f func(StateStats) uint64) func() float64 {
			return func() float64 { return float64(f(sf.Stats())) }
		}
		cs = append(cs,
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smki_verifier_state_records_total",
				Help: "Records made durable in the state file."}, stat(func(s StateStats) uint64 { return s.Records })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smki_verifier_state_syncs_total",
				Help: "Group fsyncs of the state file."}, stat(func(s StateStats) uint64 { return s.Syncs })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smki_verifier_state_compactions_total",
				Help: "Compactions of the state file."}, stat(func(s StateStats) uint64 { return s.Compactions })))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("%w: metrics: %v", ErrConfig, err)
		}
	}
	if err := buildinfo.Register(reg); err != nil {
		return nil, fmt.Errorf("%w: metrics: %v", ErrConfig, err)
	}
	return m, nil
}

// Verify is v.Verify, timed and counted.
func (m *Metrics) Verify(data []byte, at time.Time) Decision {
	t0 := time.Now()
	d := m.v.Verify(data, at)
	m.latency.Observe(time.Since(t0).Seconds())
	m.Count(d)
	return d
}

// Count counts one decision.
func (m *Metrics) Count(d Decision) {
	c, ok := m.byCode[d.Code]
	if !ok {
		c = m.unknown
	}
	c.Inc()
}

// FollowerError counts a failed sync; kind is FollowBundle or
// FollowRevocations. It fits Follower.OnError.
func (m *Metrics) FollowerError(kind string, _ error) {
	if c, ok := m.feedErrs[kind]; ok {
		c.Inc()
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var crlNextUpdateDesc = prometheus.NewDesc("smki_verifier_crl_next_update_timestamp_seconds",
	"Earliest nextUpdate of the CRLs in force (Unix seconds); past it every request is refused STALE. Absent without CRLs.", nil, nil)

// crlNextUpdate is smki_verifier_crl_next_update_timestamp_seconds, left
// out while no CRL is in force (0 would read as long past).
type crlNextUpdate struct{ v *Verifier }

func (crlNextUpdate) Describe(ch chan<- *prometheus.Desc) { ch <- crlNextUpdateDesc }

func (c crlNextUpdate) Collect(ch chan<- prometheus.Metric) {
	if next := c.v.cur.Load().rev.crlNext; !next.IsZero() {
		ch <- prometheus.MustNewConstMetric(crlNextUpdateDesc, prometheus.GaugeValue, float64(next.Unix()))
	}
}
