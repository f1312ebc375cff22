package verifier

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxRequestBody caps POST /v1/verify bodies (the XML limit's
// default, 1 MiB, plus room for the decision to be MALFORMED rather than a
// transport error).
const DefaultMaxRequestBody = 1<<20 + 1

// Handler is the verifier sidecar's HTTP API (contract: verifier/openapi.yaml):
//
//	POST /v1/verify   body: the signed XML. 200 with the Decision JSON, for
//	                  accept and reject alike; the request time is the
//	                  Verifier's clock at arrival. A body over maxBody is
//	                  answered 200 MALFORMED without being parsed. At most
//	                  16 bodies of maxBody (smaller ones sharing the same
//	                  bytes) are held at once; past that a request waits,
//	                  before its body is read, for one to finish.
//	GET  /healthz     liveness: 200 {"status":"ok","ready":bool,...} while
//	                  the process answers, whatever its data.
//	GET  /readyz      readiness: 200 {"ready":true} while the sidecar can
//	                  accept, 503 {"ready":false,"reasons":[...]} while the
//	                  data is stale (a CRL past its nextUpdate included),
//	                  the state cannot be made durable, or the RA's bundle
//	                  or feed cannot be followed; either with "warnings"
//	                  (Verifier.Warnings: a CRL past half its lifetime).
//	GET  /openapi.yaml this API's description (verifier/openapi.yaml, the
//	                  bytes embedded at build), application/yaml.
//
// Misuse of HTTP is 4xx with an HTTPError: 405 and an Allow header for a
// method the path does not take, 400 for a body that cannot be read.
func Handler(v *Verifier, maxBody int64) http.Handler {
	return handler(v, v.Verify, maxBody, nil)
}

// InstrumentedHandler is Handler with m counting and timing every decision
// (including a MALFORMED for an oversized body), and
//
//	GET  /metrics     m's registry, Prometheus text format.
func InstrumentedHandler(m *Metrics, maxBody int64) http.Handler {
	return handler(m.v, m.Verify, maxBody, m)
}

// maxBodiesAtOnce bounds the request bodies a handler holds in memory at
// once: this many of the maximum size (16 MiB at the default), smaller
// ones sharing the same bytes. Past it a request waits, before its body is
// read, until one in progress finishes. The parser allocates at most ten
// times a hostile body's size until the decision (xmldsig's
// TestHostileAllocation), so requests in flight hold at most about
// 160 MiB at the default; a Service Request of a few KiB takes a few
// KiB of it, so thousands still fit, enough for the state log's group
// commits. (At 64 bodies, 640 MiB: more than a sidecar's container is
// often given.)
const maxBodiesAtOnce = 16

// verifyHandler is the handler's mux and its body budget.
type verifyHandler struct {
	mux    *http.ServeMux
	bodies *byteBudget
}

func (h *verifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func handler(v *Verifier, verify func([]byte, time.Time) Decision, maxBody int64, m *Metrics) http.Handler {
	if maxBody <= 0 {
		maxBody = DefaultMaxRequestBody
	}
	bodies := newByteBudget(maxBodiesAtOnce * (maxBody + 1))
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethod(w, r, http.MethodPost) {
			return
		}
		at := v.clock()
		// What the body may hold in memory: its declared length, or the
		// most it can be. Reserved before it is read, released once the
		// decision is written.
		need := maxBody + 1
		if r.ContentLength >= 0 && r.ContentLength < need {
			need = r.ContentLength + 1
		}
		if !bodies.acquire(r.Context(), need) {
			return // the client went away while it waited
		}
		defer bodies.release(need)
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, HTTPError{Error: "cannot read body"})
			return
		}
		var d Decision
		if int64(len(body)) > maxBody {
			d = reject(CodeMALFORMED, "request body over %d bytes; %s", maxBody, nextMalformed)
			if m != nil {
				m.Count(d)
			}
		} else {
			d = verify(body, at)
		}
		writeJSON(w, http.StatusOK, d)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethod(w, r, http.MethodGet) {
			return
		}
		// Liveness only: the process answers. Whether it can accept is
		// /readyz's question ("ready" here is for a human reading it).
		st := v.cur.Load()
		gen, seq := st.gen, st.rev.seq
		writeJSON(w, http.StatusOK, Health{Status: "ok", Ready: len(v.notReady()) == 0, Generation: &gen, RevocationSeq: &seq,
			BundleIssuedAt: st.pol.bundle.IssuedAt.UTC().Format(time.RFC3339)})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethod(w, r, http.MethodGet) {
			return
		}
		writeReadiness(w, v.notReady(), v.Warnings())
	})
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	serveOpenAPI(mux)
	return &verifyHandler{mux: mux, bodies: bodies}
}

// byteBudget is a count of bytes that requests reserve before reading and
// release after; a reservation that does not fit waits for releases.
type byteBudget struct {
	mu      sync.Mutex
	free    int64
	total   int64
	waiters int
	freed   chan struct{} // closed (and replaced) at a release while there are waiters
}

func newByteBudget(total int64) *byteBudget {
	return &byteBudget{free: total, total: total, freed: make(chan struct{})}
}

// acquire reserves n bytes (at most the total), waiting while they do not
// fit; false if ctx ends first.
func (b *byteBudget) acquire(ctx context.Context, n int64) bool {
	n = min(n, b.total)
	b.mu.Lock()
	for b.free < n {
		b.waiters++
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			b.mu.Lock()
			b.waiters--
			b.mu.Unlock()
			return false
		}
		b.mu.Lock()
		b.waiters--
	}
	b.free -= n
	b.mu.Unlock()
	return true
}

// release returns n bytes reserved by acquire.
func (b *byteBudget) release(n int64) {
	n = min(n, b.total)
	b.mu.Lock()
	b.free += n
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
	b.mu.Unlock()
}

// reserved is how many bytes are reserved now.
func (b *byteBudget) reserved() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total - b.free
}

// The sidecar's JSON answers (contract: verifier/openapi.yaml, held to
// these types by TestSidecarOpenAPI). POST /v1/verify answers a Decision.

// Health is GET /healthz's answer: liveness, 200 while the process answers.
type Health struct {
	Status string `json:"status"` // always "ok"
	// Ready is what /readyz would answer, for a human reading this.
	Ready bool `json:"ready"`
	// Generation (how many times the data was replaced), RevocationSeq
	// (the revocation sequence held) and BundleIssuedAt (RFC 3339, UTC)
	// describe the data the verifier holds; absent while it has none
	// (UnreadyHandler).
	Generation     *uint64 `json:"generation,omitempty"`
	RevocationSeq  *uint64 `json:"revocation_seq,omitempty"`
	BundleIssuedAt string  `json:"bundle_issued_at,omitempty"`
}

// Readiness is GET /readyz's answer: 200 {"ready":true}, or 503 with
// ready false and the reasons.
type Readiness struct {
	Ready   bool     `json:"ready"`
	Reasons []string `json:"reasons,omitempty"`
	// Warnings: what will make the verifier not ready if left alone (a
	// CRL past half its lifetime, Verifier.Warnings), ready or not.
	Warnings []string `json:"warnings,omitempty"`
}

// HTTPError is the answer to a misuse of HTTP: 405 for a method the path
// does not take (with Allow), 400 for a body that cannot be read.
type HTTPError struct {
	Error string `json:"error"`
}

// onlyMethod answers 405 unless r is method (GET also takes HEAD), and
// says whether r may go on.
func onlyMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	writeJSON(w, http.StatusMethodNotAllowed, HTTPError{Error: "use " + method})
	return false
}

//go:embed openapi.yaml
var openAPI []byte

// serveOpenAPI adds GET /openapi.yaml to mux: the sidecar's description,
// served as the RA serves its own (ra/raserver), ready or not.
func serveOpenAPI(mux *http.ServeMux) {
	mux.HandleFunc("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		if onlyMethod(w, r, http.MethodGet) {
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(openAPI)
		}
	})
}

// writeReadiness answers /readyz: ready unless there are reasons; the
// warnings either way.
func writeReadiness(w http.ResponseWriter, reasons, warnings []string) {
	if len(reasons) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, Readiness{Ready: false, Reasons: reasons, Warnings: warnings})
		return
	}
	writeJSON(w, http.StatusOK, Readiness{Ready: true, Warnings: warnings})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
