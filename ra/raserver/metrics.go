package raserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
			Name: "smki_ra_http_requests_total", Help: "HTTP requests, by route pattern and status.",
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

// observedKey marks a request's context once logged has counted it, so
// that Observed does not count it twice.
type observedKey struct{}

// observe counts and times one request under route and marks it counted.
func (m *metrics) observe(ctx context.Context, route string, status int, took time.Duration) {
	if done, ok := ctx.Value(observedKey{}).(*bool); ok {
		*done = true
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}

// Observed wraps h, a whole server's handler in which api (the handler
// NewServer returned) is one route among others, so that every request is counted and timed
// (smki_ra_http_requests_total, smki_ra_http_request_duration_seconds),
// not only the API's: a request the API did not serve is counted under
// the pattern of the ServeMux that routed it (set on the request, e.g.
// "GET /crl/{name}", "/repo/"), or, when none did, route(r) (e.g. "/ocsp"
// for a handler routed before the mux; a closed set, never the path).
// api must be NewServer's handler (it panics otherwise: a wiring error).
func Observed(api, h http.Handler, route func(*http.Request) string) http.Handler {
	m := api.(apiHandler).m
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		done := new(bool)
		r = r.WithContext(context.WithValue(r.Context(), observedKey{}, done))
		h.ServeHTTP(sw, r)
		if *done {
			return
		}
		name := r.Pattern
		if name == "" {
			name = route(r)
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.observe(r.Context(), name, sw.status, time.Since(start))
	})
}

// apiHandler is NewServer's handler, holding its metrics for Observed.
type apiHandler struct {
	http.Handler
	m *metrics
}
