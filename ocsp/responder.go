package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cfocsp "github.com/cloudflare/cfssl/ocsp"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/httpcond"
	"github.com/smki/smki/store"
)

// Defaults of Config.
const (
	// DefaultResponderValidity is the delegated responder certificate's
	// life; it is replaced at half of it.
	DefaultResponderValidity = 48 * time.Hour
	// DefaultResponseLifetime is nextUpdate - thisUpdate of a response;
	// each is re-signed at half of it.
	DefaultResponseLifetime = 24 * time.Hour
	// DefaultPoll is how often the store's sequences are read. A
	// revocation is answered within Poll plus one signature.
	DefaultPoll = 200 * time.Millisecond
	// rotateRetryMin and rotateRetryMax bound Run's wait between failed
	// rotations of the responder certificate.
	rotateRetryMin = time.Second
	rotateRetryMax = time.Minute
	// maxUnknownCache bounds the cache of signed "unknown" answers.
	maxUnknownCache = 4096
	// maxRequestBody caps a POSTed OCSP request (a real one is about 100
	// bytes).
	maxRequestBody = 8 << 10
)

// Errors, each a stable code.
var (
	// ErrConfig: the Config is unusable; the message names the field.
	ErrConfig = errors.New("E_OCSP_CONFIG")
	// ErrResponderCert: no delegated responder certificate could be had
	// from the Certifier; the responder cannot answer until one is.
	ErrResponderCert = errors.New("E_OCSP_RESPONDER_CERT")
	// ErrStore: the store could not be read; retry.
	ErrStore = errors.New("E_OCSP_STORE")
	// ErrSigning: a response could not be signed.
	ErrSigning = errors.New("E_OCSP_SIGNING")
	// ErrNotPublished: the published response of a certificate gives
	// another status than the store (a revocation the RA's responder has
	// not published yet, or could not); Published does not serve it.
	// Retry.
	ErrNotPublished = errors.New("E_OCSP_NOT_PUBLISHED")
	// ErrExpired: the certificate's cached response is past its
	// nextUpdate (re-signing it has failed since it was due) and is not
	// served; retry.
	ErrExpired = errors.New("E_OCSP_EXPIRED")
)

// Certifier issues delegated responder certificates (ca.CA does).
type Certifier interface {
	IssueOCSPResponder(ctx context.Context, pub crypto.PublicKey, name string, validity time.Duration) (*x509.Certificate, error)
}

// Config configures New.
type Config struct {
	Store     store.Store       // read only
	Issuer    *x509.Certificate // the Issuing OCA: the CA whose certificates this answers for
	Certifier Certifier
	Name      string // this instance, in the responder certificate's CN (default "smki")

	IssuerName        string        // store issuer name of Issuer's certificates (default "issuing-ca")
	ResponderValidity time.Duration // default DefaultResponderValidity
	ResponseLifetime  time.Duration // default DefaultResponseLifetime
	Poll              time.Duration // default DefaultPoll
	// Publish writes every response this responder signs into the store
	// (records of kind RecordKind), so that a Published responder on
	// another host (smki repo serve) answers with the same bytes.
	Publish bool
	Clock   func() time.Time
	Logger  *slog.Logger
}

// entry is one certificate's pre-signed response, with the HTTP headers
// cfssl's Responder would derive from it computed once. Its CertID is
// hashed with SHA-1 (RFC 5019's); a request hashed otherwise is answered
// from a variant signed on its first request (Responder.forHash).
type entry struct {
	der          []byte
	thisUpdate   time.Time
	nextUpdate   time.Time
	status       store.CertStatus
	etag         string
	lastModified string
	expires      string

	// revokedAt and reason are the revocation's, for the variants.
	revokedAt time.Time
	reason    int
	// variants are this response with the CertID hashed with another
	// algorithm than SHA-1, by hash; they go with the entry when it is
	// replaced.
	variantsMu sync.Mutex
	variants   map[crypto.Hash]*entry
}

func newEntry(der []byte, status store.CertStatus, thisUpdate, nextUpdate time.Time) *entry {
	sum := sha256.Sum256(der)
	return &entry{der: der, thisUpdate: thisUpdate, nextUpdate: nextUpdate, status: status, etag: fmt.Sprintf("\"%X\"", sum),
		lastModified: thisUpdate.Format(time.RFC1123), expires: nextUpdate.Format(time.RFC1123)}
}

// signer is one delegated responder key and its certificate.
type signer struct {
	cf       cfocsp.Signer
	key      crypto.Signer
	cert     *x509.Certificate
	rotateAt time.Time
}

// Responder keeps the pre-signed cache and answers requests. It is safe
// for concurrent use.
type Responder struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	http http.Handler

	issuer issuerHashes

	signer atomic.Pointer[signer]

	mu        sync.RWMutex
	cache     map[string]*entry // by lower-case hex serial
	unknown   map[string]*entry // signed "unknown" answers, by unknownKey
	issSeq    uint64
	revSeq    uint64
	wake      chan struct{}
	refreshAt time.Time

	// syncMu serialises Run's Syncs and rebuilds with the Syncs a cache
	// miss runs (Response), so a miss waits for a Sync in progress
	// instead of signing the same changes a second time (but no longer
	// than missWait in all: a lock a miss can give up on); synced is
	// when (monotonic, time.Since(epoch)) the newest successful Sync
	// started, so that a miss arriving before it needs no Sync of its own.
	// failed is when the newest failed Sync started, and failErr its
	// error: a miss arriving before that Sync shares its
	// failure rather than trying again, so that while the store fails a
	// burst of misses costs one or two attempts, not one each in turn.
	syncMu  syncLock
	synced  atomic.Int64
	failed  atomic.Int64
	failErr atomic.Pointer[error]
	// missWait bounds a miss's wait for a Sync, from its arrival
	// (missSyncTimeout; tests shorten it).
	missWait time.Duration
}

// syncLock is a mutex a waiter can give up on (lockBy): a channel holding
// one token while locked.
type syncLock chan struct{}

func (l syncLock) Lock()   { l <- struct{}{} }
func (l syncLock) Unlock() { <-l }

// lockBy locks l, or returns false if ctx ends first.
func (l syncLock) lockBy(ctx context.Context) bool {
	select {
	case l <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// epoch is the origin of Responder.synced: durations since it are
// monotonic, whatever the wall clock (or a test's Clock) does.
var epoch = time.Now()

// missSyncTimeout bounds how long a cache miss waits for a Sync, from
// its arrival: for a Sync in progress (Run's, or another miss's) and for
// its own. A miss still waiting then is answered internalError (HTTP
// 500), in time for a relying party to retry or fall back before its own
// timeout, whatever the store does: a Sync that hangs (a store that does
// not answer, ignoring its context) holds no miss longer.
const missSyncTimeout = 5 * time.Second

// New checks cfg, gets a first responder certificate and pre-signs a
// response for every certificate of cfg.Issuer in the store. Call Run to
// keep the cache current.
func New(ctx context.Context, cfg Config) (*Responder, error) {
	if cfg.Store == nil || cfg.Issuer == nil || cfg.Certifier == nil {
		return nil, fmt.Errorf("%w: Store, Issuer and Certifier are required", ErrConfig)
	}
	if cfg.Name == "" {
		cfg.Name = "smki"
	}
	if cfg.IssuerName == "" {
		cfg.IssuerName = "issuing-ca"
	}
	if cfg.ResponderValidity == 0 {
		cfg.ResponderValidity = DefaultResponderValidity
	}
	if cfg.ResponseLifetime == 0 {
		cfg.ResponseLifetime = DefaultResponseLifetime
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.ResponderValidity < 2*time.Minute || cfg.ResponseLifetime < 2*time.Second || cfg.Poll < 0 {
		return nil, fmt.Errorf("%w: ResponderValidity %s (min 2m), ResponseLifetime %s (min 2s), Poll %s",
			ErrConfig, cfg.ResponderValidity, cfg.ResponseLifetime, cfg.Poll)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Responder{cfg: cfg, log: cfg.Logger, now: cfg.Clock, wake: make(chan struct{}, 1), syncMu: make(syncLock, 1),
		missWait: missSyncTimeout}
	var err error
	if r.issuer, err = newIssuerHashes(cfg.Issuer); err != nil {
		return nil, err
	}
	if err := r.rotate(ctx); err != nil {
		return nil, err
	}
	if err := r.rebuild(ctx); err != nil {
		return nil, err
	}
	r.http = cfocsp.NewResponder(r, nil)
	return r, nil
}

// rotate makes a new responder key and has it certified.
func (r *Responder) rotate(ctx context.Context) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: responder key: %v", ErrResponderCert, err)
	}
	cert, err := r.cfg.Certifier.IssueOCSPResponder(ctx, key.Public(), r.cfg.Name, r.cfg.ResponderValidity)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrResponderCert, err)
	}
	cf, err := cfocsp.NewSigner(r.cfg.Issuer, cert, key, r.cfg.ResponseLifetime)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrResponderCert, err)
	}
	rotateAt := cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) / 2)
	r.signer.Store(&signer{cf: cf, key: key, cert: cert, rotateAt: rotateAt})
	r.log.Info("OCSP responder certificate in use", "serial", fmt.Sprintf("%x", cert.SerialNumber), "not_after", cert.NotAfter)
	return nil
}

// nextUpdate is the nextUpdate of a response s signs at now that would
// be current until want: want, but never past s's certificate's notAfter,
// so that a relying party can verify a response for all its validity
// (while rotations fail, responses get shorter lives). It fails with
// ErrResponderCert once the certificate has expired (or has less than a
// second left): nothing it signs could be verified. Every response is
// signed through it.
func (s *signer) nextUpdate(now, want time.Time) (time.Time, error) {
	if end := s.cert.NotAfter; want.After(end) {
		want = end
	}
	if !want.After(now) {
		return time.Time{}, fmt.Errorf("%w: the responder certificate expired at %s and has not been replaced (is the Issuing OCA available?); retry",
			ErrResponderCert, s.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return want, nil
}

// ResponderCertificate returns the delegated responder certificate in use.
func (r *Responder) ResponderCertificate() *x509.Certificate { return r.signer.Load().cert }

// Handler serves OCSP requests: POST /ocsp with the DER request as body,
// GET /ocsp/{base64 request}. Mount it ahead of any http.ServeMux (Wrap),
// whose path cleaning would corrupt base64 containing "//".
//
// A request for a cached certificate is answered from the cache with the
// headers cfssl's Responder sets (Cache-Control max-age to nextUpdate,
// Last-Modified, Expires, ETag; 304 on If-None-Match), computed when the
// response was signed: cfssl's Responder re-parses and re-verifies every
// response it serves, which costs a signature verification per request
// (TestFastPathMatchesCFSSL keeps the two in step). Everything else (malformed,
// unknown, another issuer) goes to cfssl's Responder.
func (r *Responder) Handler() http.Handler {
	return handler(func(_ context.Context, oreq *xocsp.Request) (*entry, error) {
		if !r.issuer.matches(oreq) {
			return nil, nil
		}
		r.mu.RLock()
		e := r.cache[oreq.SerialNumber.Text(16)]
		r.mu.RUnlock()
		if e == nil {
			return nil, nil
		}
		if err := r.current(e); err != nil {
			return nil, err
		}
		return r.forHash(e, oreq)
	}, r.http)
}

// handler routes /ocsp requests (a POST's Content-Type is not checked:
// docs/repository.md, "What it answers"): POST /ocsp (or /ocsp/, the URL
// with a trailing slash) with the request as body; GET or HEAD
// /ocsp/{base64 request} (HEAD answered as GET, without the body). A GET
// path that is not base64, an empty one, a request over the size cap, or
// one whose requestList does not hold exactly one Request (oneRequest) is
// answered malformedRequest; a request lookup finds an entry for is
// answered from it; everything else (not found, a lookup error) goes to
// fallback, cfssl's Responder over the same source.
func handler(lookup func(context.Context, *xocsp.Request) (*entry, error), fallback http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		get := req.Method == http.MethodGet || req.Method == http.MethodHead
		switch {
		case req.Method == http.MethodPost && (p == "/ocsp" || p == "/ocsp/"):
			body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxRequestBody))
			if err != nil {
				malformed(w, http.StatusRequestEntityTooLarge)
				return
			}
			if !oneRequest(body) {
				malformed(w, http.StatusBadRequest)
				return
			}
			if serveEntry(w, req, body, lookup) {
				return
			}
			r2 := req.Clone(req.Context())
			r2.Body = io.NopCloser(bytes.NewReader(body))
			fallback.ServeHTTP(&conditional{ResponseWriter: w, inm: req.Header.Get("If-None-Match")}, r2)
		case get && (p == "/ocsp" || strings.HasPrefix(p, "/ocsp/")):
			enc := strings.TrimPrefix(strings.TrimPrefix(p, "/ocsp"), "/")
			if len(enc) > 2*maxRequestBody {
				malformed(w, http.StatusRequestURITooLong)
				return
			}
			b, ok := decodeGet(enc)
			if !ok || !oneRequest(b) {
				malformed(w, http.StatusBadRequest)
				return
			}
			if serveEntry(w, req, b, lookup) {
				return
			}
			r2 := req.Clone(req.Context())
			r2.Method, r2.URL.Path, r2.URL.RawPath = http.MethodGet, enc, ""
			r2.Header = req.Header.Clone()
			r2.Header.Del("If-None-Match") // conditional compares it, as serveEntry does
			fallback.ServeHTTP(&conditional{ResponseWriter: w, inm: req.Header.Get("If-None-Match")}, r2)
		case p == "/ocsp" || p == "/ocsp/":
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "E_OCSP_METHOD: send POST /ocsp with an OCSP request, or GET /ocsp/{base64 request}", http.StatusMethodNotAllowed)
		default:
			http.NotFound(w, req)
		}
	})
}

// conditional answers 304, without the body, in place of a 200 whose
// ETag the request's If-None-Match names (httpcond.NoneMatch, the rule
// serveEntry applies): cfssl's Responder compares the two byte for byte
// only, so a cache revalidating with W/"tag" or a list of tags would get
// the whole answer again.
type conditional struct {
	http.ResponseWriter
	inm         string
	wrote, skip bool
}

func (c *conditional) WriteHeader(code int) {
	if c.wrote {
		return
	}
	c.wrote = true
	if code == http.StatusOK && httpcond.NoneMatch(c.inm, c.Header().Get("ETag")) {
		c.skip, code = true, http.StatusNotModified
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *conditional) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	if c.skip {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// decodeGet reads a GET request path as cfssl's Responder does.
func decodeGet(p string) ([]byte, bool) {
	s, err := url.QueryUnescape(p)
	if err != nil {
		return nil, false
	}
	b := []byte(s)
	for i := range b {
		if b[i] == ' ' {
			b[i] = '+'
		}
	}
	b = bytes.TrimPrefix(b, []byte("/"))
	der, err := base64.StdEncoding.DecodeString(string(b))
	return der, err == nil
}

// serveEntry answers body with the entry lookup finds for it, and reports
// whether it did.
func serveEntry(w http.ResponseWriter, req *http.Request, body []byte, lookup func(context.Context, *xocsp.Request) (*entry, error)) bool {
	oreq, err := xocsp.ParseRequest(body)
	if err != nil || oreq.SerialNumber == nil {
		return false
	}
	e, err := lookup(req.Context(), oreq)
	if err != nil || e == nil {
		return false
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/ocsp-response"}
	h["Last-Modified"] = []string{e.lastModified}
	h["Expires"] = []string{e.expires}
	maxAge := 0
	if now := time.Now(); now.Before(e.nextUpdate) { // cfssl's Responder uses the real clock too
		maxAge = int(e.nextUpdate.Sub(now) / time.Second)
	}
	h["Cache-Control"] = []string{"max-age=" + strconv.Itoa(maxAge) + ", public, no-transform, must-revalidate"}
	h["Etag"] = []string{e.etag}
	if httpcond.NoneMatch(req.Header.Get("If-None-Match"), e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	w.Write(e.der)
	return true
}

// Wrap routes /ocsp and /ocsp/... to the responder and everything else to
// next.
func (r *Responder) Wrap(next http.Handler) http.Handler { return wrap(r.Handler(), next) }

func wrap(h, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if p == "/ocsp" || (len(p) >= len("/ocsp/") && p[:len("/ocsp/")] == "/ocsp/") {
			h.ServeHTTP(w, req)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// Unavailable routes requests as Wrap does, for a server with no
// Responder (New failed because the Issuing OCA has expired, so no
// responder certificate can be issued): every OCSP request is answered
// "unauthorized" (RFC 6960 2.3: this responder cannot answer for the
// CA), which a relying party treats as no answer, and checks the CRL.
func Unavailable(next http.Handler) http.Handler {
	return wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(xocsp.UnauthorizedErrorResponse)
	}), next)
}

// Response implements cfssl's ocsp.Source: the pre-signed response for a
// certificate of the Issuing OCA, a freshly signed "unknown" for a serial
// it never issued, and cfocsp.ErrNotFound (answered "unauthorized") for a
// request about another issuer.
//
// A serial the cache does not hold may be a certificate issued since the
// last Sync (a relying party asking about a certificate it was just
// given): before answering "unknown" the responder makes sure a Sync has
// started since the request arrived, running one if none has, so that
// every certificate committed before the request is answered by its
// status. Misses arriving together share one Sync (a flood of random
// serials costs one Sync at a time, each a read of the two sequences when
// nothing changed), and a serial found unknown is remembered as before.
// If that Sync fails and the cache still lacks the serial, the answer is
// an error (cfssl's Responder sends OCSP internalError, HTTP 500), never
// a signed "unknown", and nothing is remembered: when the store could not
// be read, because whether the serial was issued is not known; when the
// Sync read it but could not sign or publish the changes it found, for
// a serial among those changes. A serial the read shows was never issued
// is still answered "unknown". Misses that arrived before the failed
// Sync started share its failure (but not that of a Sync its caller
// cancelled).
func (r *Responder) Response(req *xocsp.Request) ([]byte, http.Header, error) {
	arrived := int64(time.Since(epoch))
	ctx, cancel := context.WithTimeout(context.Background(), r.missWait)
	defer cancel()
	if !r.issuer.matches(req) || req.SerialNumber.Sign() <= 0 {
		return nil, nil, cfocsp.ErrNotFound
	}
	serial := req.SerialNumber.Text(16)
	unkKey := unknownKey(serial, req.HashAlgorithm)
	// lookup gives the cached answer for serial; a cached "unknown"
	// past its nextUpdate is none (Responder.current, the rule for every
	// cached answer): the serial is asked about as a miss, the store read
	// again and a fresh "unknown" signed.
	lookup := func() (*entry, []byte) {
		r.mu.RLock()
		e, unk := r.cache[serial], r.unknown[unkKey]
		r.mu.RUnlock()
		if unk != nil && r.current(unk) != nil {
			return e, nil
		}
		if unk != nil {
			return e, unk.der
		}
		return e, nil
	}
	e, unk := lookup()
	remember := true
	if e == nil && unk == nil {
		err := r.syncSince(ctx, arrived)
		// Whatever the Sync's outcome, an answer may have arrived
		// meanwhile (an earlier Sync, which counts for this request
		// only if it holds the serial).
		e, unk = lookup()
		var ni *notInstalledError
		if errors.As(err, &ni) && !ni.serials[serial] {
			// The Sync's read shows it was never issued; the answer is
			// not remembered, since nothing will forget it while Syncs
			// fail (a successful one drops what it installs).
			err, remember = nil, false
		}
		if err != nil && e == nil && unk == nil {
			r.log.Warn("OCSP sync for a serial not in the cache failed; answering internalError", "serial", serial, "err", err)
			return nil, nil, err
		}
	}
	if e != nil {
		if err := r.current(e); err != nil {
			r.log.Warn("OCSP response past its nextUpdate; answering internalError", "serial", serial, "err", err)
			return nil, nil, err
		}
		v, err := r.forHash(e, req)
		if err != nil {
			return nil, nil, err
		}
		return v.der, nil, nil
	}
	if unk != nil {
		return unk, nil, nil
	}
	ue, err := r.signUnknown(req.SerialNumber, req.HashAlgorithm)
	if err != nil {
		return nil, nil, err
	}
	if !remember {
		return ue.der, nil, nil
	}
	r.mu.Lock()
	if len(r.unknown) >= maxUnknownCache {
		r.unknown = map[string]*entry{}
	}
	r.unknown[unkKey] = ue
	r.mu.Unlock()
	return ue.der, nil, nil
}

// unknownKey is where Responder.unknown keeps the "unknown" answer for
// serial with its CertID hashed with h: the serial itself for SHA-1.
func unknownKey(serial string, h crypto.Hash) string {
	if h == crypto.SHA1 {
		return serial
	}
	return serial + "/" + h.String()
}

// signUnknown signs an "unknown" answer for a serial the Issuing OCA never
// issued. cfssl's StandardSigner needs the certificate itself, which does
// not exist, so x/crypto/ocsp builds this one.
func (r *Responder) signUnknown(serial *big.Int, h crypto.Hash) (*entry, error) {
	now := r.now().UTC().Truncate(time.Second)
	der, next, err := r.signX(xocsp.Response{Status: xocsp.Unknown, SerialNumber: serial, ThisUpdate: now,
		NextUpdate: now.Add(r.cfg.ResponseLifetime), IssuerHash: h})
	if err != nil {
		return nil, err
	}
	return newEntry(der, "", now, next), nil
}

// signX signs tmpl with the current responder key, by x/crypto/ocsp: the
// responses cfssl's StandardSigner cannot make ("unknown", for a
// certificate that does not exist; a CertID hashed otherwise than SHA-1).
// It returns the nextUpdate signed, tmpl's cut to the responder
// certificate's notAfter (signer.nextUpdate).
func (r *Responder) signX(tmpl xocsp.Response) ([]byte, time.Time, error) {
	s := r.signer.Load()
	next, err := s.nextUpdate(r.now(), tmpl.NextUpdate)
	if err != nil {
		return nil, time.Time{}, err
	}
	tmpl.Certificate, tmpl.NextUpdate = s.cert, next
	der, err := xocsp.CreateResponse(r.cfg.Issuer, s.cert, tmpl, s.key)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %x: %v", ErrSigning, tmpl.SerialNumber, err)
	}
	return der, next, nil
}

// sign builds c's response with s.
func (r *Responder) sign(s *signer, c store.Certificate, now time.Time) (*entry, error) {
	cert, err := dccx509.ParseCertificate(c.DER)
	if err != nil {
		return nil, fmt.Errorf("%w: stored certificate %s: %v", ErrSigning, c.Serial, err)
	}
	next, err := s.nextUpdate(now, now.Add(r.cfg.ResponseLifetime))
	if err != nil {
		return nil, err
	}
	req := cfocsp.SignRequest{Certificate: cert, Status: string(xStatus(c.Status)), ThisUpdate: &now, NextUpdate: &next}
	if c.Status == store.StatusRevoked {
		req.Reason, req.RevokedAt = c.Reason, c.RevokedAt.UTC()
	}
	der, err := s.cf.Sign(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSigning, c.Serial, err)
	}
	e := newEntry(der, c.Status, now, next)
	e.revokedAt, e.reason = req.RevokedAt, req.Reason
	return e, nil
}

// current fails with ErrExpired if e is past its nextUpdate: the re-sign
// due at half its life has failed since (Run retries it every Poll), and
// a response relying parties must refuse is not served as an answer;
// the request is answered internalError (HTTP 500, not cacheable). It is
// the one check for every cached answer: good and revoked (Handler's fast
// path, Response) and "unknown" (Response, which answers an expired one
// as a miss).
func (r *Responder) current(e *entry) error {
	if now := r.now(); !now.Before(e.nextUpdate) {
		return fmt.Errorf("%w: its response expired at %s and could not be re-signed", ErrExpired, e.nextUpdate.UTC().Format(time.RFC3339))
	}
	return nil
}

// forHash returns e, the response for req's serial, with its CertID
// hashed as req's is: a response's CertID is the request's (RFC 6960
// 4.2.1), and a relying party matching the two (openssl does) finds no
// status in an answer about a SHA-1 CertID to a SHA-256 question. e
// itself for SHA-1, which every response is pre-signed with; for another
// hash, a variant with e's status and times, signed on its first request
// and kept with e.
func (r *Responder) forHash(e *entry, req *xocsp.Request) (*entry, error) {
	if req.HashAlgorithm == crypto.SHA1 {
		return e, nil
	}
	e.variantsMu.Lock()
	defer e.variantsMu.Unlock()
	if v := e.variants[req.HashAlgorithm]; v != nil {
		return v, nil
	}
	status := xocsp.Good
	if e.status == store.StatusRevoked {
		status = xocsp.Revoked
	}
	der, next, err := r.signX(xocsp.Response{Status: status, SerialNumber: req.SerialNumber, ThisUpdate: e.thisUpdate,
		NextUpdate: e.nextUpdate, RevokedAt: e.revokedAt, RevocationReason: e.reason, IssuerHash: req.HashAlgorithm})
	if err != nil {
		return nil, err
	}
	v := newEntry(der, e.status, e.thisUpdate, next)
	if e.variants == nil {
		e.variants = map[crypto.Hash]*entry{}
	}
	e.variants[req.HashAlgorithm] = v
	return v, nil
}

func xStatus(s store.CertStatus) string {
	if s == store.StatusRevoked {
		return "revoked"
	}
	return "good"
}

// signAll signs certs on every core and returns their entries by serial.
func (r *Responder) signAll(certs []store.Certificate) (map[string]*entry, error) {
	s := r.signer.Load()
	now := r.now().UTC().Truncate(time.Second)
	out := make([]*entry, len(certs))
	errs := make([]error, len(certs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(certs); i = int(next.Add(1) - 1) {
				out[i], errs[i] = r.sign(s, certs[i], now)
			}
		}()
	}
	wg.Wait()
	m := make(map[string]*entry, len(certs))
	for i, c := range certs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		m[c.Serial] = out[i]
	}
	return m, nil
}

// rebuild re-signs every certificate of the issuer: at start, after a
// rotation, and when responses pass half their lifetime.
func (r *Responder) rebuild(ctx context.Context) error {
	started := int64(time.Since(epoch))
	var certs []store.Certificate
	var iss, rev uint64
	err := r.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if iss, err = tx.IssuanceSeq(); err != nil {
			return err
		}
		if rev, err = tx.RevocationSeq(); err != nil {
			return err
		}
		certs = certs[:0]
		for after := ""; ; {
			page, err := tx.ListCertificates(store.CertFilter{Issuer: r.cfg.IssuerName, After: after, Limit: 10000})
			if err != nil {
				return err
			}
			certs = append(certs, page...)
			if len(page) < 10000 {
				return nil
			}
			after = page[len(page)-1].Serial
		}
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	m, err := r.signAll(certs)
	if err != nil {
		r.dropRevoked(certs)
		return err
	}
	if err := r.publish(ctx, m); err != nil {
		r.dropRevoked(certs)
		return err
	}
	r.mu.Lock()
	r.cache, r.unknown, r.issSeq, r.revSeq = m, map[string]*entry{}, iss, rev
	r.refreshAt = r.now().Add(r.cfg.ResponseLifetime / 2)
	r.mu.Unlock()
	r.markSynced(started)
	r.log.Info("OCSP responses pre-signed", "certificates", len(m), "issuance_seq", iss, "revocation_seq", rev)
	return nil
}

// syncSince returns once a Sync that started at or after arrived (a
// monotonic time, see Responder.synced) has ended, running one if none
// has: nil if it succeeded, its error if it failed; errMissWait if that
// has not happened by ctx's end (the miss's deadline). A Sync this call
// starts goes on after it gives up (holding syncMu until it ends), so
// that its outcome still counts for the misses after it.
func (r *Responder) syncSince(ctx context.Context, arrived int64) error {
	if !r.syncMu.lockBy(ctx) {
		return errMissWait
	}
	switch {
	case r.synced.Load() >= arrived:
		r.syncMu.Unlock()
		return nil
	case r.failed.Load() >= arrived:
		r.syncMu.Unlock()
		return *r.failErr.Load()
	}
	done := make(chan error, 1)
	go func() {
		defer r.syncMu.Unlock()
		sctx, cancel := context.WithTimeout(context.Background(), r.missWait)
		defer cancel()
		done <- r.Sync(sctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errMissWait
	}
}

// errMissWait: a miss's Sync did not end within missSyncTimeout of its
// arrival.
var errMissWait = fmt.Errorf("%w: no Sync ended within %s of the request (is the store answering?)", ErrStore, missSyncTimeout)

// Sync brings the cache up to the store's sequences: certificates issued
// and revoked since the last Sync are signed and swapped in. Run calls it
// every Poll; Notify makes Run call it at once.
func (r *Responder) Sync(ctx context.Context) error {
	started := int64(time.Since(epoch))
	err := r.sync(ctx, started)
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		// A Sync its caller gave up on (Run at shutdown) says nothing
		// about the store: misses do not share its failure.
		r.markFailed(started, err)
	}
	return err
}

// sync is Sync, started at started.
func (r *Responder) sync(ctx context.Context, started int64) error {
	r.mu.RLock()
	iss, rev := r.issSeq, r.revSeq
	r.mu.RUnlock()
	var changed []store.Certificate
	var newIss, newRev uint64
	err := r.cfg.Store.View(ctx, func(tx store.Tx) error {
		changed = changed[:0]
		var err error
		if newIss, err = tx.IssuanceSeq(); err != nil {
			return err
		}
		if newRev, err = tx.RevocationSeq(); err != nil {
			return err
		}
		if newIss != iss {
			issued, err := tx.CertificatesIssuedSince(iss, 0)
			if err != nil {
				return err
			}
			for _, c := range issued {
				if c.Issuer == r.cfg.IssuerName && c.IssuanceSeq <= newIss {
					changed = append(changed, c)
				}
			}
		}
		if newRev != rev {
			revs, err := tx.RevocationsSince(rev, 0)
			if err != nil {
				return err
			}
			for _, rv := range revs {
				if rv.Issuer != r.cfg.IssuerName || rv.Seq > newRev {
					continue
				}
				c, err := tx.GetCertificate(rv.Serial)
				if err != nil {
					return err
				}
				changed = append(changed, c)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	if newIss == iss && newRev == rev {
		r.markSynced(started)
		return nil
	}
	m, err := r.signAll(changed)
	if err != nil {
		return r.notInstalled(err, changed)
	}
	if err := r.publish(ctx, m); err != nil {
		return r.notInstalled(err, changed)
	}
	r.mu.Lock()
	for serial, e := range m {
		// A revoked entry is never replaced by a good one signed from an
		// older read.
		if old := r.cache[serial]; old != nil && old.status == store.StatusRevoked && e.status != store.StatusRevoked {
			continue
		}
		r.cache[serial] = e
		for h := range r.issuer {
			delete(r.unknown, unknownKey(serial, h))
		}
	}
	if newIss > r.issSeq {
		r.issSeq = newIss
	}
	if newRev > r.revSeq {
		r.revSeq = newRev
	}
	r.mu.Unlock()
	if len(m) > 0 {
		r.log.Info("OCSP responses updated", "certificates", len(m), "issuance_seq", newIss, "revocation_seq", newRev)
	}
	r.markSynced(started)
	return nil
}

// markSynced records that a Sync or rebuild which started at started
// (see Responder.synced) succeeded.
func (r *Responder) markSynced(started int64) {
	for {
		old := r.synced.Load()
		if old >= started || r.synced.CompareAndSwap(old, started) {
			return
		}
	}
}

// notInstalledError is a Sync that read the store but could not sign or
// publish what it read: serials (lower-case hex) are the certificates it
// found issued or revoked since the Sync before, whose answers are not
// installed. Any other serial the cache lacks was not issued when the
// read was made, so a miss that shares this failure may still answer it
// "unknown".
type notInstalledError struct {
	err     error
	serials map[string]bool
}

func (e *notInstalledError) Error() string { return e.err.Error() }
func (e *notInstalledError) Unwrap() error { return e.err }

// notInstalled is a Sync's failure with err after it read changed: the
// cached answers of certificates the read found revoked are dropped,
// so that they are answered as misses (internalError while their new
// answer cannot be installed) rather than with a signed "good" the
// responder knows to be wrong.
func (r *Responder) notInstalled(err error, changed []store.Certificate) error {
	r.dropRevoked(changed)
	return &notInstalledError{err: err, serials: serialsOf(changed)}
}

// dropRevoked drops the cached answers that are not "revoked" of the
// certificates in read that a Sync or rebuild read as revoked but could
// not install (notInstalled; a failed rebuild, which Run keeps trying
// once the responses are due for renewal, and Syncs no more).
func (r *Responder) dropRevoked(read []store.Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range read {
		if c.Status != store.StatusRevoked {
			continue
		}
		if old := r.cache[c.Serial]; old != nil && old.status != store.StatusRevoked {
			delete(r.cache, c.Serial)
		}
	}
}

// serialsOf is the set of certs' serials.
func serialsOf(certs []store.Certificate) map[string]bool {
	m := make(map[string]bool, len(certs))
	for _, c := range certs {
		m[c.Serial] = true
	}
	return m
}

// markFailed records that a Sync which started at started failed with
// err (see Responder.failed).
func (r *Responder) markFailed(started int64, err error) {
	r.failErr.Store(&err)
	for {
		old := r.failed.Load()
		if old >= started || r.failed.CompareAndSwap(old, started) {
			return
		}
	}
}

// SyncAge is how long ago the newest successful Sync or rebuild started:
// what the store changed since then (a revocation above all) is not yet
// in the answers. Run syncs every Poll, so an age of many Polls means
// Syncs fail (logged: "OCSP cache update failed"); the server exports it
// as smki_ocsp_sync_age_seconds.
func (r *Responder) SyncAge() time.Duration {
	return time.Since(epoch) - time.Duration(r.synced.Load())
}

// Notify asks Run to Sync now (after a revocation in this process).
func (r *Responder) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run keeps the cache current until ctx ends: Sync every Poll (or on
// Notify), a new responder certificate at half the old one's life, and a
// full re-sign when responses pass half their lifetime. Failures are
// logged and retried on the next tick (a failed rotation after a wait
// that doubles from 1 s to a minute); the cache keeps serving.
func (r *Responder) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	// A failed rotation is tried again after a wait that doubles from
	// rotateRetryMin to rotateRetryMax: each attempt is a CA signature
	// (an HSM operation) and a logged error. The certificate in use has
	// half its life left when rotation starts, so waits cost nothing.
	var retryAt time.Time
	var wait time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
		now := r.now()
		r.mu.RLock()
		refresh := !now.Before(r.refreshAt)
		r.mu.RUnlock()
		if !now.Before(r.signer.Load().rotateAt) && !now.Before(retryAt) {
			if err := r.rotate(ctx); err != nil {
				wait = min(max(2*wait, rotateRetryMin), rotateRetryMax)
				retryAt = now.Add(wait)
				r.log.Error("OCSP responder certificate rotation failed; retrying", "err", err,
					"retry_in", wait.String(), "not_after", r.signer.Load().cert.NotAfter)
			} else {
				wait, retryAt = 0, time.Time{}
				refresh = true
			}
		}
		var err error
		r.syncMu.Lock()
		if refresh {
			err = r.rebuild(ctx)
		} else {
			err = r.Sync(ctx)
		}
		r.syncMu.Unlock()
		if err != nil && ctx.Err() == nil {
			r.log.Error("OCSP cache update failed; retrying", "err", err)
		}
	}
}

// issuerHashes are the hashes of the Issuing OCA's name and key, by hash
// algorithm, that a request about one of its certificates carries.
type issuerHashes map[crypto.Hash][2][]byte

func newIssuerHashes(issuer *x509.Certificate) (issuerHashes, error) {
	m := issuerHashes{}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		name, key, err := issuerHash(issuer, h)
		if err != nil {
			return nil, fmt.Errorf("%w: issuer: %v", ErrConfig, err)
		}
		m[h] = [2][]byte{name, key}
	}
	return m, nil
}

// matches reports whether req asks about a certificate of the issuer.
func (m issuerHashes) matches(req *xocsp.Request) bool {
	hs, ok := m[req.HashAlgorithm]
	return ok && req.SerialNumber != nil && bytes.Equal(hs[0], req.IssuerNameHash) && bytes.Equal(hs[1], req.IssuerKeyHash)
}

// issuerHash returns the hashes of issuer's name and public key that OCSP
// requests carry (RFC 6960 4.1.1), computed by x/crypto/ocsp itself.
func issuerHash(issuer *x509.Certificate, h crypto.Hash) (name, key []byte, err error) {
	der, err := xocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(1), RawIssuer: issuer.RawSubject}, issuer,
		&xocsp.RequestOptions{Hash: h})
	if err != nil {
		return nil, nil, err
	}
	req, err := xocsp.ParseRequest(der)
	if err != nil {
		return nil, nil, err
	}
	return req.IssuerNameHash, req.IssuerKeyHash, nil
}
