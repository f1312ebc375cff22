package verifier

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smki/smki/internal/buildinfo"
)

// UnreadyHandler is the sidecar's HTTP API while it has no Verifier (its
// bundle does not verify against the trust root, say): alive but never
// ready, and failing closed.
//
//	POST /v1/verify   200 reject STALE ("not ready: " and the reasons)
//	GET  /healthz     200 {"status":"ok","ready":false}
//	GET  /readyz      503 {"ready":false,"reasons":[...]}
//	GET  /metrics     reg, with smki_verifier_ready 0, smki_build_info and each
//	                  refusal in smki_verifier_decisions_total{decision="reject",code="STALE"}
//	GET  /openapi.yaml as Handler serves it
//
// A method a path does not take is answered as Handler answers it (405,
// HTTPError, Allow).
func UnreadyHandler(reg *prometheus.Registry, reasons []string) http.Handler {
	_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smki_verifier_ready", Help: "1 while the verifier can accept (what /readyz answers 200 for), 0 while it cannot.",
	}, func() float64 { return 0 }))
	// Metrics' counter, so a dashboard of the decisions sees the
	// refusals while the sidecar is not ready.
	decisions := decisionsCounter()
	_ = reg.Register(decisions)
	_ = buildinfo.Register(reg)
	refused := decisions.WithLabelValues(Reject, CodeSTALE)
	d := reject(CodeSTALE, "not ready (%s); the verifier's operator must fix what /readyz lists; then send the request again", strings.Join(reasons, ", "))
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethod(w, r, http.MethodPost) {
			return
		}
		refused.Inc()
		writeJSON(w, http.StatusOK, d)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if onlyMethod(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, Health{Status: "ok", Ready: false})
		}
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if onlyMethod(w, r, http.MethodGet) {
			writeJSON(w, http.StatusServiceUnavailable, Readiness{Ready: false, Reasons: reasons})
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	serveOpenAPI(mux)
	return mux
}
