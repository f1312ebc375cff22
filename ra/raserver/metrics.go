package raserver

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's counters, in its own registry (never the
// global one, so two servers in one process, as in tests, do not collide).
type metrics struct {
	issued   *prometheus.CounterVec
	revoked  *prometheus.CounterVec
	refused  *prometheus.CounterVec
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// durationBuckets are smki_ra_http_request_duration_seconds' bucket
// bounds, fixed so that the series are bounded and comparable across
// deploys: from a cached read (a few ms) to a held revocation-feed poll.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smki_ra_certificates_issued_total", Help: "Certificates issued through the RA, by profile and mode.",
		}, []string{"profile", "mode"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smki_ra_certificates_revoked_total", Help: "Certificates revoked through the RA, by RFC 5280 reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smki_ra_refusals_total", Help: "Requests the RA refused, by stable error code.",
		}, []string{"code"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smki_ra_http_requests_total", Help: "HTTP requests, by route and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "smki_ra_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern.",
			Buckets: durationBuckets,
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.issued, m.revoked, m.refused, m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
