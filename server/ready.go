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

// check returns why the server is not ready (none: ready).
func (r *readiness) check(ctx context.Context) []string {
	var reasons []string
	if err := r.st.View(ctx, func(tx store.Tx) error { _, err := tx.RevocationSeq(); return err }); err != nil {
		reasons = append(reasons, "store: does not answer a read")
	}
	if err := r.authority.CheckKey(); err != nil {
		reasons = append(reasons, "CA key: the Issuing OCA key cannot sign")
	}
	if r.caExpiry != nil {
		if why := r.caExpiry.notReady(time.Now()); why != "" {
			reasons = append(reasons, why)
		}
	}
	if r.dir == "" {
		return reasons
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(r.dir, &fs); err == nil {
		if free := fs.Bavail * uint64(fs.Bsize); free < r.min {
			reasons = append(reasons, fmt.Sprintf("store: %d MiB free on the data filesystem, below the minimum of %d MiB (min_free_mb)", free>>20, r.min>>20))
		}
	}
	if at := r.fullAt.Load(); at != 0 {
		if err := probeWrite(r.dir); err != nil {
			reasons = append(reasons, fmt.Sprintf("store: disk full (a write failed at %s, and a %d KiB probe still cannot be written)",
				time.Unix(0, at).UTC().Format(time.RFC3339), probeSize>>10))
		} else {
			r.fullAt.CompareAndSwap(at, 0)
		}
	}
	return reasons
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
// smki_server_ready (1 ready, 0 not; evaluated at each scrape).
func (r *readiness) mount(mux *http.ServeMux, reg prometheus.Registerer) error {
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		reasons := r.check(req.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		body := raapi.Readiness{Status: "ready"}
		if len(reasons) > 0 {
			body = raapi.Readiness{Status: "not ready", Reasons: reasons}
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(body)
	})
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smki_server_ready",
		Help: "1 while the server is ready (GET /readyz: store answers and can write, CA key signs, enough free space), else 0."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if len(r.check(ctx)) > 0 {
				return 0
			}
			return 1
		}))
}
