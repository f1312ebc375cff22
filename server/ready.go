package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/store"
)

// DefaultMinFreeBytes is the free space below which a bbolt store's
// filesystem makes the server not ready (Config.MinFreeBytes).
const DefaultMinFreeBytes = 64 << 20

// probeSize is what the write probe writes while the store was last seen
// full: enough to need a fresh block, small enough to be cheap.
const probeSize = 256 << 10

// readiness answers GET /readyz (issue 12 finding 12): whether this
// instance can do its work now, unlike /healthz (liveness: the process
// and its store answer). It is ready when
//   - the store answers a read;
//   - the Issuing OCA key signs (ca.CheckKey: a PKCS#11 token that went
//     away, a key that fails) and its certificate has not expired;
//   - on bbolt, the store's filesystem has at least min bytes free; and,
//     after a request failed with E_STORE_FULL, a probe file of probeSize
//     can be written and synced beside the store again.
type readiness struct {
	st        store.Store
	authority *ca.CA
	caExpiry  *caExpiry // nil: not checked
	dir       string    // the bbolt store's directory; "" on PostgreSQL
	min       uint64
	// fullAt is when a request last failed with E_STORE_FULL (Unix
	// nanoseconds; 0: not since the last successful probe).
	fullAt atomic.Int64
}

func newReadiness(st store.Store, authority *ca.CA, spec StoreSpec, min uint64) *readiness {
	r := &readiness{st: st, authority: authority, min: min}
	if spec.Engine == "bbolt" {
		r.dir = filepath.Dir(spec.Target)
	}
	return r
}

// storeFull records a request that failed for a full disk.
func (r *readiness) storeFull() { r.fullAt.Store(time.Now().UnixNano()) }

// Readiness checks: the check label of smki_server_check_ok, one a
// condition that fails /readyz.
const (
	checkStore     = "store"      // the store answers a read
	checkCAKey     = "ca_key"     // the Issuing OCA key signs (an HSM or KMS that answers)
	checkCACert    = "ca_cert"    // the Issuing OCA certificate has not expired
	checkDiskFree  = "disk_free"  // bbolt: min_free_mb free on the store's filesystem
	checkDiskWrite = "disk_write" // bbolt: after an E_STORE_FULL, a probe can be written again
)

// readyChecks are every check, in the order check makes them.
var readyChecks = []string{checkStore, checkCAKey, checkCACert, checkDiskFree, checkDiskWrite}

// failure is one failed readiness check and the reason /readyz gives.
type failure struct{ check, reason string }

// reasons are fs's reasons, as /readyz lists them.
func reasons(fs []failure) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.reason
	}
	return out
}

// check returns the checks that fail now (none: ready).
func (r *readiness) check(ctx context.Context) []failure {
	var out []failure
	if err := r.st.View(ctx, func(tx store.Tx) error { _, err := tx.RevocationSeq(); return err }); err != nil {
		out = append(out, failure{checkStore, "store: does not answer a read"})
	}
	if err := r.authority.CheckKey(); err != nil {
		out = append(out, failure{checkCAKey, "CA key: the Issuing OCA key cannot sign"})
	}
	if r.caExpiry != nil {
		if why := r.caExpiry.notReady(time.Now()); why != "" {
			out = append(out, failure{checkCACert, why})
		}
	}
	if r.dir == "" {
		return out
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(r.dir, &fs); err == nil {
		if free := fs.Bavail * uint64(fs.Bsize); free < r.min {
			out = append(out, failure{checkDiskFree, fmt.Sprintf("store: %d MiB free on the data filesystem, below the minimum of %d MiB (min_free_mb)", free>>20, r.min>>20)})
		}
	}
	if at := r.fullAt.Load(); at != 0 {
		if err := probeWrite(r.dir); err != nil {
			out = append(out, failure{checkDiskWrite, fmt.Sprintf("store: disk full (a write failed at %s, and a %d KiB probe still cannot be written)",
				time.Unix(0, at).UTC().Format(time.RFC3339), probeSize>>10)})
		} else {
			r.fullAt.CompareAndSwap(at, 0)
		}
	}
	return out
}

// probeWrite writes, syncs and removes a probe file in dir.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".readyz-probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mount serves GET /readyz: 200 {"status":"ready"} or 503
// {"status":"not ready","reasons":[...]}, and registers
// smki_server_ready (1 ready, 0 not) and smki_server_check_ok{check}
// (1 or 0 per readiness check, so an alert can say which failed: the
// HSM, the store, the disk), both from one evaluation at each scrape.
func (r *readiness) mount(mux *http.ServeMux, reg prometheus.Registerer) error {
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		failed := r.check(req.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		body := raapi.Readiness{Status: "ready"}
		if len(failed) > 0 {
			body = raapi.Readiness{Status: "not ready", Reasons: reasons(failed)}
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(body)
	})
	return reg.Register(readyCollector{r})
}

var (
	readyDesc = prometheus.NewDesc("smki_server_ready",
		"1 while the server is ready (GET /readyz: store answers and can write, CA key signs, enough free space), else 0.", nil, nil)
	checkOKDesc = prometheus.NewDesc("smki_server_check_ok",
		"1 while the readiness check passes, 0 while it fails GET /readyz (store, ca_key, ca_cert, disk_free, disk_write).", []string{"check"}, nil)
)

// readyCollector evaluates the readiness checks once per scrape.
type readyCollector struct{ r *readiness }

func (readyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- readyDesc; ch <- checkOKDesc }

func (c readyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := c.r.check(ctx)
	ready := 1.0
	if len(failed) > 0 {
		ready = 0
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready)
	for _, k := range readyChecks {
		ok := 1.0
		for _, f := range failed {
			if f.check == k {
				ok = 0
			}
		}
		ch <- prometheus.MustNewConstMetric(checkOKDesc, prometheus.GaugeValue, ok, k)
	}
}
