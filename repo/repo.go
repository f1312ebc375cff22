package repo

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/httpcond"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// Prefix is where the repository is mounted; every link it writes starts
// with it.
const Prefix = "/repo/"

// Defaults and bounds of Config and of requests.
const (
	// DefaultRate is the requests per second each client address may make
	// once its burst is spent.
	DefaultRate = 50
	// DefaultBurst is the requests a client address may make at once.
	DefaultBurst = 200
	// DefaultPageSize and MaxPageSize bound a search or changes page.
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// maxSerialHex is the longest serial accepted (RFC 5280: 20 octets).
	maxSerialHex = 40
	// maxQuery bounds a request's query string.
	maxQuery = 1024
)

// Cache lifetimes, each chosen by what can change the answer.
const (
	// certMaxAge: a certificate's bytes never change once issued.
	certMaxAge = 365 * 24 * time.Hour
	// caMaxAge: a CA certificate may be replaced at its URL (a new
	// Issuing OCA), so caches check back daily.
	caMaxAge = 24 * time.Hour
)

// Stable error codes, in every error body ({"error":{"code","message"}}).
var (
	ErrNotFound    = errors.New("E_REPO_NOT_FOUND")
	ErrBadRequest  = errors.New("E_REPO_BAD_REQUEST")
	ErrRateLimited = errors.New("E_REPO_RATE_LIMITED")
	ErrMethod      = errors.New("E_REPO_METHOD")
	ErrUnavailable = errors.New("E_REPO_UNAVAILABLE")
	ErrConfig      = errors.New("E_REPO_CONFIG")
)

// Config configures New.
type Config struct {
	Store   store.Store       // read only
	Root    *x509.Certificate // the Root OCA
	Issuing *x509.Certificate // the Issuing OCA
	// Rate and Burst limit each client address (the TCP peer, an IPv6
	// peer by its /64: put the limit in the load balancer if it hides
	// clients' addresses).
	// Defaults DefaultRate and DefaultBurst; a negative Rate disables it.
	Rate   float64
	Burst  int
	Clock  func() time.Time
	Logger *slog.Logger
}

// Handler serves the repository under Prefix. It is safe for concurrent
// use.
type Handler struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	limit *limiter
}

// New checks cfg and returns the repository's handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Root == nil || cfg.Issuing == nil {
		return nil, fmt.Errorf("%w: Store, Root and Issuing are required", ErrConfig)
	}
	h := &Handler{cfg: cfg}
	var err error
	if h.limit, h.now, h.log, err = common(cfg.Rate, cfg.Burst, cfg.Clock, cfg.Logger); err != nil {
		return nil, err
	}
	return h, nil
}

// common checks and defaults what both handlers take: the rate limit,
// the clock and the logger.
func common(rate float64, burst int, clock func() time.Time, log *slog.Logger) (*limiter, func() time.Time, *slog.Logger, error) {
	if rate == 0 {
		rate = DefaultRate
	}
	if burst == 0 {
		burst = DefaultBurst
	}
	if burst < 0 || math.IsNaN(rate) {
		return nil, nil, nil, fmt.Errorf("%w: Burst %d, Rate %v", ErrConfig, burst, rate)
	}
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var l *limiter
	if rate > 0 {
		l = newLimiter(rate, burst, clock)
	}
	return l, clock, log, nil
}

// ServeHTTP answers GET and HEAD under Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := admit(w, r, h.limit)
	if !ok {
		return
	}
	ctx := r.Context()
	switch {
	case p == "index.json":
		h.index(ctx, w, r)
	case p == "ca/root.pem", p == "ca/root.der", p == "ca/issuing.pem", p == "ca/issuing.der":
		h.caCert(w, r, p[len("ca/"):])
	case p == "crl/orl.crl", p == "crl/arl.crl":
		h.crl(ctx, w, r, p[len("crl/"):len(p)-len(".crl")])
	case p == "certs":
		h.search(ctx, w, r)
	case strings.HasPrefix(p, "certs/"):
		h.cert(ctx, w, r, p[len("certs/"):])
	case p == "changes":
		h.changes(ctx, w, r)
	default:
		h.notFound(w)
	}
}

// admit applies what every repository request must pass (the rate limit,
// GET or HEAD, a bounded query, a path under Prefix), answering the
// request if it fails; it returns the path after Prefix.
func admit(w http.ResponseWriter, r *http.Request, limit *limiter) (string, bool) {
	if limit != nil {
		if ok, wait := limit.allow(r.RemoteAddr); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			writeError(w, http.StatusTooManyRequests, ErrRateLimited,
				"too many requests from this address; wait as Retry-After says, or mirror the repository (smki repo mirror)")
			return "", false
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, ErrMethod, "the repository is read-only: use GET or HEAD")
		return "", false
	}
	if len(r.URL.RawQuery) > maxQuery {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "query string too long")
		return "", false
	}
	p, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		writeError(w, http.StatusNotFound, ErrNotFound, notFoundMsg)
		return "", false
	}
	return p, true
}

const (
	notFoundMsg   = "no such repository path; GET " + Prefix + "index.json lists the layout"
	crlAbsentMsg  = "the CA has not published this CRL yet; retry later"
	badSerialMsg  = "a serial is lower-case hex without leading zeros (as the search lists them), e.g. " + Prefix + "certs/1a2b3c"
	certAbsentMsg = "no certificate with serial %s was issued; search with " + Prefix + "certs?user=USER-ID"
)

func (h *Handler) notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, ErrNotFound, notFoundMsg)
}

func (h *Handler) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("repository read failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "the store could not be read; retry shortly")
}

// Index is the body of index.json: the sequences the tree reflects and
// where things are.
type Index struct {
	IssuanceSeq   uint64            `json:"issuance_seq"`
	RevocationSeq uint64            `json:"revocation_seq"`
	Links         map[string]string `json:"links"`
}

func indexLinks() map[string]string {
	return map[string]string{
		"root": Prefix + "ca/root.pem", "issuing": Prefix + "ca/issuing.pem",
		"orl": Prefix + "crl/orl.crl", "arl": Prefix + "crl/arl.crl",
		"certificate": Prefix + "certs/{serial}", "search": Prefix + "certs{?user,party,role,status,after,limit}",
		"changes": Prefix + "changes{?issued_after,revoked_after,limit,include}",
	}
}

func (h *Handler) index(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	var ix Index
	var mod time.Time
	err := h.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if ix.IssuanceSeq, err = tx.IssuanceSeq(); err != nil {
			return err
		}
		if ix.RevocationSeq, err = tx.RevocationSeq(); err != nil {
			return err
		}
		mod = h.cfg.Issuing.NotBefore
		if ix.IssuanceSeq > 0 {
			last, err := tx.CertificatesIssuedSince(ix.IssuanceSeq-1, 1)
			if err != nil {
				return err
			}
			if len(last) == 1 && last[0].IssuedAt.After(mod) {
				mod = last[0].IssuedAt
			}
		}
		if ix.RevocationSeq > 0 {
			last, err := tx.RevocationsSince(ix.RevocationSeq-1, 1)
			if err != nil {
				return err
			}
			if len(last) == 1 && last[0].RevokedAt.After(mod) {
				mod = last[0].RevokedAt
			}
		}
		return nil
	})
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	ix.Links = indexLinks()
	serveListing(w, r, jsonBody(ix), mod)
}

func (h *Handler) caCert(w http.ResponseWriter, r *http.Request, name string) {
	c := h.cfg.Root
	if strings.HasPrefix(name, "issuing.") {
		c = h.cfg.Issuing
	}
	body := c.Raw
	if strings.HasSuffix(name, ".pem") {
		body = pemCert(c.Raw)
	}
	serveCACert(w, r, body, name, c.NotBefore)
}

// serveCACert serves a CA certificate (name ends .pem or .der): it may
// be replaced at its URL (a new Issuing OCA), so caches check back daily.
func serveCACert(w http.ResponseWriter, r *http.Request, body []byte, name string, notBefore time.Time) {
	ctype := "application/pkix-cert"
	if strings.HasSuffix(name, ".pem") {
		ctype = "application/x-pem-file"
	}
	serve(w, r, body, ctype, notBefore, maxAge(caMaxAge))
}

func (h *Handler) crl(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	var crl store.CRL
	err := h.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		crl, err = tx.GetCRL(name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, ErrNotFound, crlAbsentMsg)
		return
	}
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	ServeCRL(w, r, crl.DER, crl.ThisUpdate, crl.NextUpdate, h.now())
}

// CRL answers the CRL name ("orl" or "arl") exactly as /repo/crl/{name}.crl
// is answered (headers, 304, errors), without the rate limit; smki serve
// answers the CRLs' older URLs (/crl/orl.crl, /crl/arl.crl) with it.
func (h *Handler) CRL(w http.ResponseWriter, r *http.Request, name string) {
	h.crl(r.Context(), w, r, name)
}

// ServeCRL serves a CRL, der, with the caching headers of every CRL smki
// answers (the repository, its mirrors, smki serve's older /crl/ URLs): it
// is their one owner. A cached copy must not outlive the CRL's own
// nextUpdate (max-age at most the time left to it at now, 0 once past;
// Last-Modified its thisUpdate). It is revalidated by its ETag only: the
// CA reissues the ORL at every revocation with thisUpdate to the second,
// so two CRLs issued within one second share a Last-Modified, and
// If-Modified-Since would keep the older (and a revocation from relying
// parties) until its nextUpdate.
func ServeCRL(w http.ResponseWriter, r *http.Request, der []byte, thisUpdate, nextUpdate, now time.Time) {
	left := nextUpdate.Sub(now)
	if left < 0 {
		left = 0
	}
	serveConditional(w, r, der, "application/pkix-crl", thisUpdate, maxAge(left), false)
}

// Cert is a certificate as the repository describes it in JSON.
type Cert struct {
	Serial    string     `json:"serial"`
	Issuer    string     `json:"issuer"`
	UserID    string     `json:"user_id,omitempty"`
	PartyID   string     `json:"party_id,omitempty"`
	Role      string     `json:"role,omitempty"`
	Profile   string     `json:"profile"`
	Status    string     `json:"status"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	IssuedAt  time.Time  `json:"issued_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Links     CertLinks  `json:"links"`
}

// CertLinks are a certificate's URLs in the repository.
type CertLinks struct {
	PEM  string `json:"pem"`
	DER  string `json:"der"`
	JSON string `json:"json"`
}

func describe(c store.Certificate) Cert {
	base := Prefix + "certs/" + c.Serial
	d := Cert{Serial: c.Serial, Issuer: c.Issuer, UserID: c.UserID, PartyID: c.PartyID, Role: c.Role, Profile: c.Profile,
		Status: string(c.Status), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), IssuedAt: c.IssuedAt.UTC(),
		Links: CertLinks{PEM: base + ".pem", DER: base + ".der", JSON: base + ".json"}}
	if c.Status == store.StatusRevoked {
		at := c.RevokedAt.UTC()
		d.RevokedAt, d.Reason = &at, ra.ReasonName(c.Reason)
	}
	return d
}

// CanonicalSerial reports whether s is a serial as the repository names
// it: lower-case hex without leading zeros, at most 20 octets.
func CanonicalSerial(s string) bool {
	if s == "" || len(s) > maxSerialHex || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func (h *Handler) cert(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	serial, form, ok := certName(w, name)
	if !ok {
		return
	}
	var c store.Certificate
	err := h.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.GetCertificate(serial)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, ErrNotFound, fmt.Sprintf(certAbsentMsg, serial))
		return
	}
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	form = negotiate(w, r, form)
	switch form {
	case "pem":
		serveCertBytes(w, r, pemCert(c.DER), form, c.IssuedAt)
	case "der":
		serveCertBytes(w, r, c.DER, form, c.IssuedAt)
	case "json":
		d := describe(c)
		serveCertJSON(w, r, jsonBody(d), d)
	}
}

// certName splits certs/{name} into a canonical serial and a form ("pem",
// "der", "json", or "" for none), answering the request if it is neither.
func certName(w http.ResponseWriter, name string) (serial, form string, ok bool) {
	serial = name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		serial, form = name[:i], name[i+1:]
		if form != "pem" && form != "der" && form != "json" {
			writeError(w, http.StatusNotFound, ErrNotFound, notFoundMsg)
			return "", "", false
		}
	}
	if !CanonicalSerial(serial) {
		writeError(w, http.StatusBadRequest, ErrBadRequest, badSerialMsg)
		return "", "", false
	}
	return serial, form, true
}

// negotiate picks the form of /repo/certs/{serial} without a suffix by
// Accept (PEM unless DER is preferred); a suffix's form stands.
func negotiate(w http.ResponseWriter, r *http.Request, form string) string {
	if form != "" {
		return form
	}
	w.Header().Set("Vary", "Accept")
	if prefersDER(r.Header.Get("Accept")) {
		return "der"
	}
	return "pem"
}

// serveCertBytes serves a certificate as PEM or DER: its bytes never
// change once issued.
func serveCertBytes(w http.ResponseWriter, r *http.Request, body []byte, form string, issuedAt time.Time) {
	ctype := "application/x-pem-file"
	if form == "der" {
		ctype = "application/pkix-cert"
	}
	serve(w, r, body, ctype, issuedAt, maxAge(certMaxAge)+", immutable")
}

// serveCertJSON serves a certificate's description, body, which says d.
// Like the listings it is revalidated by its ETag only: its Last-Modified
// is to the second, and a revocation within the second of issuance (or
// dated earlier by another instance's clock) leaves it where the good
// description had it.
func serveCertJSON(w http.ResponseWriter, r *http.Request, body []byte, d Cert) {
	mod, cc := d.IssuedAt, "public, no-cache"
	if d.Status == string(store.StatusRevoked) && d.RevokedAt != nil {
		// A revocation is final: the description no longer changes.
		mod, cc = *d.RevokedAt, maxAge(certMaxAge)
	}
	serveConditional(w, r, body, "application/json", mod, cc, false)
}

// prefersDER reports whether an Accept header asks for DER
// (application/pkix-cert) over PEM.
func prefersDER(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "application/pkix-cert", "application/x-x509-ca-cert", "application/x-x509-user-cert", "application/octet-stream":
			return true
		case "application/x-pem-file", "application/pem-certificate-chain", "text/plain":
			return false
		}
	}
	return false
}

// SearchPage is the body of a search answer.
type SearchPage struct {
	Certificates []Cert `json:"certificates"`
	// Next is the URL of the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

func (h *Handler) search(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "the query string does not parse")
		return
	}
	var f store.CertFilter
	limit := DefaultPageSize
	for k, v := range q {
		if len(v) != 1 {
			writeError(w, http.StatusBadRequest, ErrBadRequest, "give "+k+" once")
			return
		}
		switch k {
		case "user", "party":
			id, err := eui64.Parse(v[0])
			if err != nil {
				writeError(w, http.StatusBadRequest, ErrBadRequest, k+" must be an EUI-64, e.g. 90-B3-D5-1F-30-01-00-00")
				return
			}
			if k == "user" {
				f.UserID = id.String()
			} else {
				f.PartyID = id.String()
			}
		case "role":
			rl, err := role.Parse(v[0])
			if err != nil {
				writeError(w, http.StatusBadRequest, ErrBadRequest, "role must be a User Role code, e.g. IS, GS, SC")
				return
			}
			f.Role = string(rl)
		case "status":
			if v[0] != string(store.StatusGood) && v[0] != string(store.StatusRevoked) {
				writeError(w, http.StatusBadRequest, ErrBadRequest, "status must be good or revoked")
				return
			}
			f.Status = store.CertStatus(v[0])
		case "after":
			if !CanonicalSerial(v[0]) {
				writeError(w, http.StatusBadRequest, ErrBadRequest, "after must be a serial from the previous page (use its next link)")
				return
			}
			f.After = v[0]
		case "limit":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > MaxPageSize {
				writeError(w, http.StatusBadRequest, ErrBadRequest, fmt.Sprintf("limit must be 1 to %d", MaxPageSize))
				return
			}
			limit = n
		default:
			writeError(w, http.StatusBadRequest, ErrBadRequest, "unknown parameter "+strconv.Quote(k)+"; search takes user, party, role, status, after, limit")
			return
		}
	}
	f.Limit = limit + 1
	var certs []store.Certificate
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		certs, err = tx.ListCertificates(f)
		return err
	})
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	page := SearchPage{Certificates: []Cert{}}
	if len(certs) > limit {
		certs = certs[:limit]
		q.Set("after", certs[limit-1].Serial)
		page.Next = Prefix + "certs?" + q.Encode()
	}
	var mod time.Time
	for _, c := range certs {
		page.Certificates = append(page.Certificates, describe(c))
		if c.IssuedAt.After(mod) {
			mod = c.IssuedAt
		}
		if c.Status == store.StatusRevoked && c.RevokedAt.After(mod) {
			mod = c.RevokedAt
		}
	}
	if mod.IsZero() {
		mod = h.cfg.Issuing.NotBefore
	}
	serveListing(w, r, jsonBody(page), mod)
}

// Changes is the body of a changes answer: what was issued and revoked
// after the given sequence numbers, for mirrors.
type Changes struct {
	IssuanceSeq   uint64   `json:"issuance_seq"`
	RevocationSeq uint64   `json:"revocation_seq"`
	Issued        []Change `json:"issued"`
	Revoked       []Change `json:"revoked"`
}

// Change is one entry of a sequence.
type Change struct {
	Seq    uint64 `json:"seq"`
	Serial string `json:"serial"`
	// With include=certificates: the certificate's description as of
	// this answer (both lists) and its DER (issued entries), so that a
	// mirror writes a certificate's files without a request for each.
	Certificate *Cert  `json:"certificate,omitempty"`
	DER         []byte `json:"der,omitempty"`
}

func (h *Handler) changes(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "the query string does not parse")
		return
	}
	var issAfter, revAfter uint64
	limit := MaxPageSize
	full := false
	for k, v := range q {
		if len(v) != 1 {
			writeError(w, http.StatusBadRequest, ErrBadRequest, "give "+k+" once")
			return
		}
		if k == "include" {
			if v[0] != "certificates" {
				writeError(w, http.StatusBadRequest, ErrBadRequest, "include takes only certificates")
				return
			}
			full = true
			continue
		}
		n, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, ErrBadRequest, k+" must be a sequence number (0 or more)")
			return
		}
		switch k {
		case "issued_after":
			issAfter = n
		case "revoked_after":
			revAfter = n
		case "limit":
			if n < 1 || n > MaxPageSize {
				writeError(w, http.StatusBadRequest, ErrBadRequest, fmt.Sprintf("limit must be 1 to %d", MaxPageSize))
				return
			}
			limit = int(n)
		default:
			writeError(w, http.StatusBadRequest, ErrBadRequest, "unknown parameter "+strconv.Quote(k)+"; changes takes issued_after, revoked_after, limit, include")
			return
		}
	}
	ch := Changes{Issued: []Change{}, Revoked: []Change{}}
	var mod time.Time
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if ch.IssuanceSeq, err = tx.IssuanceSeq(); err != nil {
			return err
		}
		if ch.RevocationSeq, err = tx.RevocationSeq(); err != nil {
			return err
		}
		issued, err := tx.CertificatesIssuedSince(issAfter, limit)
		if err != nil {
			return err
		}
		for _, c := range issued {
			if c.IssuanceSeq > ch.IssuanceSeq {
				break
			}
			e := Change{Seq: c.IssuanceSeq, Serial: c.Serial}
			if full {
				d := describe(c)
				e.Certificate, e.DER = &d, c.DER
			}
			ch.Issued = append(ch.Issued, e)
			if c.IssuedAt.After(mod) {
				mod = c.IssuedAt
			}
		}
		revs, err := tx.RevocationsSince(revAfter, limit)
		if err != nil {
			return err
		}
		for _, rv := range revs {
			if rv.Seq > ch.RevocationSeq {
				break
			}
			e := Change{Seq: rv.Seq, Serial: rv.Serial}
			if full {
				c, err := tx.GetCertificate(rv.Serial)
				if err != nil {
					return err
				}
				d := describe(c)
				e.Certificate = &d
			}
			ch.Revoked = append(ch.Revoked, e)
			if rv.RevokedAt.After(mod) {
				mod = rv.RevokedAt
			}
		}
		return nil
	})
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	if mod.IsZero() {
		mod = h.cfg.Issuing.NotBefore
	}
	serveListing(w, r, jsonBody(ch), mod)
}

func maxAge(d time.Duration) string {
	return "public, max-age=" + strconv.FormatInt(int64(d/time.Second), 10)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// jsonBody is the one JSON encoding of every repository answer (and so of
// every mirrored file): indented, with a final newline.
func jsonBody(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only the package's own types are encoded
	}
	return append(b, '\n')
}

// ETag is the entity tag the repository gives body: a mirror computes it
// for the files it holds to ask conditionally.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// serve writes body with its validators and answers a conditional GET
// with 304 (If-None-Match first; If-Modified-Since only without it, as
// RFC 9110 13.2.2 orders them).
func serve(w http.ResponseWriter, r *http.Request, body []byte, ctype string, mod time.Time, cacheControl string) {
	serveConditional(w, r, body, ctype, mod, cacheControl, true)
}

// serveListing is serve for an answer that lists many certificates (the
// index, a search, the changes, and a mirror's index): its Last-Modified
// (the latest issuance or revocation in it, to the second) can stay the
// same, or go back, while its body changes (a certificate revoked off a
// status=good page, two changes within one second), so only its ETag
// revalidates it: If-Modified-Since is not answered 304.
func serveListing(w http.ResponseWriter, r *http.Request, body []byte, mod time.Time) {
	serveConditional(w, r, body, "application/json", mod, "public, no-cache", false)
}

// serveConditional is serve; If-Modified-Since is honoured only if ims.
func serveConditional(w http.ResponseWriter, r *http.Request, body []byte, ctype string, mod time.Time, cacheControl string, ims bool) {
	etag := ETag(body)
	mod = mod.UTC().Truncate(time.Second)
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Last-Modified", mod.Format(http.TimeFormat))
	hd.Set("Cache-Control", cacheControl)
	if notModified(r, etag, mod, ims) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func notModified(r *http.Request, etag string, mod time.Time, ims bool) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return httpcond.NoneMatch(inm, etag)
	}
	if since := r.Header.Get("If-Modified-Since"); ims && since != "" {
		if t, err := http.ParseTime(since); err == nil && !mod.After(t) {
			return true
		}
	}
	return false
}

// ErrorBody is every error answer's body.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code error, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code.Error(), msg
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(jsonBody(b))
}
