package repocmd

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smki/smki/internal/buildinfo"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/store"
)

// withHealth serves h, and what a load balancer and Prometheus read:
//
//	GET /healthz  200 {"status":"ok","version":...} while the process answers
//	GET /readyz   200 {"status":"ready"}, or 503 {"status":"not ready","reasons":[...]}
//	              while ready names any (the store does not answer, the mirror is gone)
//	GET /metrics  reg: smki_build_info and smki_repo_ready (1 ready, 0 not)
func withHealth(h http.Handler, reg *prometheus.Registry, ready func(context.Context) []string) (http.Handler, error) {
	if err := buildinfo.Register(reg); err != nil {
		return nil, err
	}
	err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smki_repo_ready",
		Help: "1 while smki repo serve is ready (GET /readyz 200: its store answers, or its mirror directory is there), else 0."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if len(ready(ctx)) > 0 {
				return 0
			}
			return 1
		}))
	if err != nil {
		return nil, err
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	version := buildinfo.Read().Version
	// Not a ServeMux in front of h: its path cleaning would redirect an
	// OCSP GET whose base64 holds "//".
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/healthz":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
		case "/readyz":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			body := raapi.Readiness{Status: "ready"}
			if reasons := ready(r.Context()); len(reasons) > 0 {
				body = raapi.Readiness{Status: "not ready", Reasons: reasons}
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			json.NewEncoder(w).Encode(body)
		case "/metrics":
			metrics.ServeHTTP(w, r)
		default:
			h.ServeHTTP(w, r)
		}
	}), nil
}

// storeReady: the RA's database answers a read.
func storeReady(st store.Store) func(context.Context) []string {
	return func(ctx context.Context) []string {
		if err := st.View(ctx, func(tx store.Tx) error { _, err := tx.RevocationSeq(); return err }); err != nil {
			return []string{"store: the RA's database does not answer a read"}
		}
		return nil
	}
}

// mirrorReady: the mirror directory still holds its index.
func mirrorReady(dir string) func(context.Context) []string {
	return func(context.Context) []string {
		if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
			return []string{"mirror: " + filepath.Join(dir, "index.json") + " cannot be read; run smki repo mirror --out " + dir}
		}
		return nil
	}
}
