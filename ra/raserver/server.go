package raserver

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/smki/smki/internal/strictjson"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed openapi.yaml
var openAPI []byte

// DefaultMaxBody is the default request body limit. The largest legitimate
// body is an enrolment (a P-256 CSR is under 1 KiB of PEM).
const DefaultMaxBody = 64 << 10

// ServerOption configures NewServer.
type ServerOption func(*server)

// WithServerLogger sets the request logger (default: discard).
func WithServerLogger(l *slog.Logger) ServerOption { return func(s *server) { s.log = l } }

// WithRegistry sets the Prometheus registry /metrics serves (default: a
// fresh one). It must not already hold the RA's collectors: NewServer
// panics on a duplicate registration, a programming error.
func WithRegistry(r *prometheus.Registry) ServerOption { return func(s *server) { s.reg = r } }

// WithStoreFullHook has f called whenever a request fails because the
// store's disk is full (E_STORE_FULL), for the server's readiness.
func WithStoreFullHook(f func()) ServerOption { return func(s *server) { s.storeFull = f } }

// WithMaxBodyBytes sets the request body limit (default DefaultMaxBody).
func WithMaxBodyBytes(n int64) ServerOption { return func(s *server) { s.maxBody = n } }

type server struct {
	svc     *ra.Service
	log     *slog.Logger
	reg     *prometheus.Registry
	maxBody int64
	m       *metrics
	// storeFull, if set, is told of every E_STORE_FULL answer.
	storeFull func()
}

type actorKey struct{}

// NewServer returns the RA's HTTP API (docs/api.md). It must be served
// over TLS that requires and verifies client certificates against the
// access root (AccessCA.TLSConfig): /v1 takes the caller's identity only
// from the verified client certificate, never from the request, and
// refuses any request without one. /metrics needs an active officer's
// certificate too; /openapi.yaml needs none. Health is the server's
// (package server), not the API's.
func NewServer(svc *ra.Service, opts ...ServerOption) http.Handler {
	s := &server{svc: svc, log: slog.New(slog.DiscardHandler), maxBody: DefaultMaxBody}
	for _, o := range opts {
		o(s)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(s.reg)
	if err != nil {
		panic(fmt.Sprintf("raserver.NewServer: %v", err))
	}
	s.m = m

	mux := http.NewServeMux()
	v1 := func(pattern string, h func(w http.ResponseWriter, r *http.Request, a ra.Actor) error) {
		mux.Handle(pattern, s.authenticated(h))
	}
	v1("GET /v1/whoami", s.whoami)
	v1("POST /v1/parties", s.createParty)
	v1("GET /v1/parties", s.listParties)
	v1("GET /v1/parties/{id}", s.getParty)
	v1("POST /v1/parties/{id}/status", s.setPartyStatus)
	v1("POST /v1/users", s.createUser)
	v1("GET /v1/users", s.listUsers)
	v1("POST /v1/users/{id}/withdraw", s.withdrawUser)
	v1("POST /v1/officers", s.appointOfficer)
	v1("GET /v1/officers", s.listOfficers)
	v1("DELETE /v1/officers/{id}", s.removeOfficer)
	v1("POST /v1/officers/{id}/status", s.setOfficerStatus)
	v1("POST /v1/officers/{id}/credential", s.renewOfficerCredential)
	v1("POST /v1/enroll", s.enrol)
	v1("POST /v1/revoke", s.revoke)
	v1("GET /v1/certificates", s.listCertificates)
	v1("GET /v1/certificates/{serial}", s.getCertificate)
	v1("POST /v1/audit/verify", s.verifyAudit)
	v1("GET /v1/store/backup", s.backupStore)
	v1("GET /v1/revocations", s.revocations)
	s.solrRoutes(mux)   // SoLR events, ADT, devices, allow-lists, bundle (handlers_solr.go)
	s.signerRoutes(mux) // the RA's own signer revocations (handlers_signer.go)
	// /metrics names no party's data, but it tells an attacker what the
	// RA is doing: it needs an active officer's (or verifier's) client
	// certificate like /v1 (issue 12 finding 6). A Prometheus without one
	// scrapes the server's separate metrics listener (server.Config).
	metricsH := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", s.authenticated(func(w http.ResponseWriter, r *http.Request, _ ra.Actor) error {
		metricsH.ServeHTTP(w, r)
		return nil
	}))
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(openAPI)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fmt.Errorf("%w: no route %s %s", ra.ErrNotFound, r.Method, r.URL.Path))
	})
	return apiHandler{Handler: s.logged(mux), m: s.m}
}

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's Flush and
// SetWriteDeadline through this wrapper (revoke_stream.go needs both).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged logs one structured line per request, counts it and times it.
func (s *server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// authenticated fills the holder in, so the log line names the actor.
		holder := &ra.Actor{}
		r = r.WithContext(context.WithValue(r.Context(), actorKey{}, holder))
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		s.m.observe(r.Context(), route, sw.status, took)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.String("actor", holder.ID()), slog.String("remote", r.RemoteAddr),
			slog.Duration("duration", took))
	})
}

// authenticated resolves the officer from the verified client certificate
// and runs h. A handler error becomes the JSON error body.
func (s *server) authenticated(h func(http.ResponseWriter, *http.Request, ra.Actor) error) http.Handler {
	return s.authenticatedLimit(h, s.maxBody)
}

// authenticatedLimit is authenticated with its own body limit, for the
// few routes whose bodies are files (a device registry).
func (s *server) authenticatedLimit(h func(http.ResponseWriter, *http.Request, ra.Actor) error, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			s.writeError(w, r, fmt.Errorf("%w: a verified client certificate is required", ra.ErrUnauthenticated))
			return
		}
		if err := textRequest(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		a, err := s.svc.Authenticate(r.Context(), r.TLS.VerifiedChains[0][0])
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if holder, ok := r.Context().Value(actorKey{}).(*ra.Actor); ok {
			*holder = a
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		if err := h(w, r, a); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// readBody reads r's (size-limited) body into a buffer sized once by its
// Content-Length, up to maxBodyHint, rather than io.ReadAll's regrowth
// from 512 bytes (an enrolment's body is about 1 KiB). The length is only
// a hint: the body's limit holds whatever it says.
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 {
		buf.Grow(int(min(n, maxBodyHint)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}

// maxBodyHint bounds what a request's Content-Length makes readBody
// allocate before any byte has arrived.
const maxBodyHint = 64 << 10

// decode reads the (size-limited) body and decodes it with the one strict
// JSON reader (internal/strictjson: one value, no unknown, duplicate or
// case-variant members).
func decode(r *http.Request, v any) error { return decodeBody(r, v, false) }

// decodeOptional is decode for a body a client may leave out: an empty
// body leaves v as it is.
func decodeOptional(r *http.Request, v any) error { return decodeBody(r, v, true) }

func decodeBody(r *http.Request, v any, optional bool) error {
	if r.Body == nil {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: no body", ra.ErrBadRequest)
	}
	data, err := readBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: body over %d bytes", ra.ErrTooLarge, mbe.Limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w: the body did not arrive within the server's read timeout; send the whole body at once", ra.ErrBadRequest)
		}
		return fmt.Errorf("%w: the body could not be read (the connection failed); send the request again", ra.ErrBadRequest)
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := strictjson.Decode(data, v); err != nil {
		return fmt.Errorf("%w: JSON body: %v", ra.ErrBadRequest, err)
	}
	return nil
}

// writeJSON answers v as indented JSON with its Content-Length: the body
// is encoded into a pooled buffer first and written at once, so an
// answer over net/http's 2 KiB buffer (an enrolment's) is not chunked
// and the client can size its read (issue 20). The buffer's encoder is
// pooled with it: encoding/json indents through a buffer of its own per
// Encoder, which a fresh Encoder allocated again for every answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	je := jsonEncoders.Get().(*jsonEncoder)
	defer func() {
		if je.buf.Cap() <= maxPooledJSON {
			je.buf.Reset()
			jsonEncoders.Put(je)
		}
	}()
	err := je.enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err == nil {
		w.Header().Set("Content-Length", strconv.Itoa(je.buf.Len()))
	}
	w.WriteHeader(status)
	w.Write(je.buf.Bytes())
}

// jsonEncoder is an indenting Encoder writing into buf. Its own indent
// buffer grows to the size of the answers it encodes, as buf does, so
// buf's capacity bounds both.
type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// jsonEncoders are writeJSON's encoders; one whose buffer grew past
// maxPooledJSON (a long list) is left to the collector rather than kept.
var jsonEncoders = sync.Pool{New: func() any {
	je := new(jsonEncoder)
	je.enc = json.NewEncoder(&je.buf)
	je.enc.SetIndent("", "  ")
	return je
}}

const maxPooledJSON = 64 << 10

// writeError writes {"error":{"code","message"}} with the code's status and
// counts the refusal. 5xx messages are generic: internals stay in the log.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.errorResponse(r, err)
	if ra.ClassOf(err) == ra.ClassBusy || body.Error.Code == ra.ErrStoreClosed.Error() {
		w.Header().Set("Retry-After", strconv.Itoa(raapi.RetryAfterBusy))
	}
	writeJSON(w, status, body)
}

// errorResponse is writeError without the writing, for answers that carry
// the error body in a stream (revoke_stream.go): it logs and counts alike.
func (s *server) errorResponse(r *http.Request, err error) (int, raapi.ErrorBody) {
	status, code := raapi.StatusOf(err), ra.CodeOf(err)
	var body raapi.ErrorBody
	body.Error.Code = code
	body.Error.Message = err.Error()
	if code == ra.ErrStoreFull.Error() {
		if s.storeFull != nil {
			s.storeFull()
		}
		body.Error.Message = "E_STORE_FULL: the RA cannot write to its store because the disk is full; nothing was changed. Try again later (the operator must free space; GET /readyz says when it can write again)"
		s.log.LogAttrs(r.Context(), slog.LevelError, "store full", slog.String("path", r.URL.Path),
			slog.String("code", code), slog.String("error", err.Error()))
	} else if status >= 500 {
		body.Error.Message = "internal error; see the server log"
		if code == ra.ErrCAExpired.Error() {
			body.Error.Message = "E_CA_EXPIRED: the CA's Issuing OCA certificate has expired, so nothing can be issued under it until its operator brings a new Issuing OCA into service; the request was not at fault and nothing was issued. Revocations are still accepted"
			if errors.Is(err, ra.ErrRootExpired) {
				body.Error.Message = "E_CA_EXPIRED: the CA's Root OCA certificate has expired, so nothing issued under it would be trusted; its operator must make a new Root OCA (key ceremony) and give it to every relying party. The request was not at fault and nothing was issued. Revocations are still accepted"
			}
			if errors.Is(err, ra.ErrNoSystemSigner) {
				body.Error.Message = "E_CA_EXPIRED: there is no RA system signer to sign the bundle and the revocation feed, and none can be made: the CA's Issuing OCA certificate expired before one was. They are not published until its operator brings a new Issuing OCA into service; the request was not at fault. Revocations are still accepted and the ORL is served"
			}
		}
		if code == ra.ErrCAKeyUnavailable.Error() {
			body.Error.Message = "E_CA_KEY_UNAVAILABLE: the CA cannot sign now: its key store (HSM) cannot be reached, so nothing was issued. Send the same request again later (the operator is alerted: GET /readyz says when the CA key signs again)"
		}
		if code == ra.ErrStoreClosed.Error() {
			body.Error.Message = "E_STORE_CLOSED: this RA instance is shutting down and its store closed under the request; a change it was making was not completed. Send the same request again (to another instance, or to this one once it is back)"
		}
		if ra.ClassOf(err) == ra.ClassBusy {
			body.Error.Message = fmt.Sprintf("the RA is busy: the change met contention in the store and was not made; nothing was written, send the same request again in %d s", raapi.RetryAfterBusy)
		}
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("path", r.URL.Path),
			slog.String("code", code), slog.String("error", err.Error()))
	}
	s.m.refused.WithLabelValues(code).Inc()
	return status, body
}

// textRequest refuses a request whose path or query, once decoded, is not
// UTF-8 text or holds NUL ("/v1/officers/%FF"), as a body that is not
// UTF-8 is refused (strictjson): malformed, so refused before any decision
// and written nowhere. Path segments and query values reach the Service
// as identifiers, names and filters, and from there audit records.
func textRequest(r *http.Request) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }
	if bad(r.URL.Path) {
		return fmt.Errorf("%w: the request path is not UTF-8 text (or holds NUL); send identifiers as the API documents them", ra.ErrBadRequest)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: the query string does not parse; send it as the API documents it", ra.ErrBadRequest)
	}
	for k, vs := range q {
		if bad(k) {
			return fmt.Errorf("%w: a query parameter's name is not UTF-8 text (or holds NUL)", ra.ErrBadRequest)
		}
		for _, v := range vs {
			if bad(v) {
				return fmt.Errorf("%w: query parameter %s is not UTF-8 text (or holds NUL)", ra.ErrBadRequest, k)
			}
		}
	}
	return nil
}
