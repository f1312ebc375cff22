package verifier

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/opfile"
)

// Follower keeps a Verifier current from the RA: it fetches the signed
// bundle (GET {BaseURL}/v1/bundle) every BundleInterval and long-polls the
// revocation feed (GET {BaseURL}/v1/revocations?since=SEQ), applying what
// it gets at once. Everything it receives is opened with OpenBundle /
// OpenFeedPage against Roots, so the transport need not be trusted. If the
// RA is unreachable the Verifier keeps its data and, once that is older
// than its maximum age, answers STALE: it fails closed. It is also the
// Verifier's certificate source (Options.Source): a CertificateSource
// (FetchCertificate, the RA's repository) and an IssuedLister
// (IssuedSince, the RA's issuance list).
type Follower struct {
	Verifier       *Verifier
	BaseURL        string       // the RA, e.g. https://ra.example:8443
	Client         *http.Client // default http.DefaultClient
	Roots          *x509.CertPool
	BundleInterval time.Duration // default 1 minute
	RetryDelay     time.Duration // after a failed poll; default 5 seconds
	Logger         *slog.Logger  // default discards
	// OnRevocations, if set, is called after each applied feed page
	// (including an empty one) with the Verifier's revocation sequence,
	// once the page is in force. It runs on the feed goroutine: keep it
	// short. For metrics and for measuring feed latency.
	OnRevocations func(seq uint64)
	// OnError, if set, is called by Run for each failed sync, with kind
	// FollowBundle or FollowRevocations (Metrics.FollowerError fits). It
	// is not called once ctx has ended.
	OnError func(kind string, err error)
	// Tolerate is how many failures in a row of one kind that may pass by
	// themselves (the RA unreachable, a 5xx or 429 answer, a body cut
	// short) readiness lets go before it fails; default 3, negative none.
	// A 4xx answer or what does not verify against Roots fails readiness
	// at once. The data's age is checked whatever this says: stale data
	// is not ready and refused (STALE).
	Tolerate int
	// RepositoryURL is the SMKI repository FetchCertificate asks
	// (GET {RepositoryURL}/repo/certs/{serial}.der, docs/repository.md);
	// default BaseURL, where smki serve publishes it.
	RepositoryURL string
	// StallTimeout cuts a request to the RA (bundle, feed, repository)
	// that receives nothing for this long: no answer headers (the RA holds
	// a feed request at most 50 s before it answers) or no byte of the
	// body. Default DefaultStallTimeout. The cut is a failure that may
	// pass by itself (Tolerate). Without it an RA, or a proxy's tunnel to
	// it, that falls silent without closing the connection held the sync
	// for ever, and the Verifier stayed ready on data that no longer
	// moved until it was too old.
	StallTimeout time.Duration
	// Compact asks the RA for bundles without end-entity certificates
	// (GET /v1/bundle?certificates=omit): a bundle whose size does not
	// grow with the certificates issued, the Verifier looking each signer
	// up by IssuerSerial instead. Set it only for a Verifier built with a
	// Source (this Follower, normally): SyncBundle refuses otherwise.
	Compact bool

	// bundleETag is the ETag of the bundle SyncBundle installed, sent as
	// If-None-Match: the RA answers 304 while it is current.
	bundleETag string
	// crlETags are the ETags of the CRLs SyncCRLs last added to
	// crlVerifier, by path (a copy of this Follower given another
	// Verifier, as the sidecar makes on a reload, fetches them afresh).
	crlETags    map[string]string
	crlVerifier *Verifier
}

// FollowedCRLs are the CRLs SyncCRLs fetches from the repository
// (docs/repository.md): the ARL (the Root OCA's, revoking issuing CAs) and
// the ORL (the Issuing OCA's, revoking Organisation Certificates).
var FollowedCRLs = []string{"/repo/crl/arl.crl", "/repo/crl/orl.crl"}

// maxCRLFetch bounds a CRL SyncCRLs reads: the cap smki puts on a CRL
// file (opfile.MaxCRL).
const maxCRLFetch = opfile.MaxCRL

// DefaultTolerate is Follower.Tolerate's default.
const DefaultTolerate = 3

// DefaultStallTimeout is Follower.StallTimeout's default: above the RA's
// longest feed hold (50 s) with room for a slow network.
const DefaultStallTimeout = 90 * time.Second

// errStalled cancels a request that received nothing for StallTimeout.
var errStalled = errors.New("stalled")

// stallReader resets t to d at every read that brings data.
type stallReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.t.Reset(s.d)
	}
	return n, err
}

// ErrFeedHTTP: the RA answered a bundle or feed request with a status
// other than 200 (or 204 for a feed long-poll that timed out).
var ErrFeedHTTP = errors.New("E_FEED_HTTP")

// transientError marks a follower failure that may pass by itself.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

// transient reports whether err may pass by itself (Tolerate).
func transient(err error) bool {
	var te transientError
	return errors.As(err, &te)
}

// statusError is the error of an RA answer with an unexpected status:
// transient for 5xx and 429, not for 4xx.
func statusError(path string, status int) error {
	err := fmt.Errorf("%w: GET %s: status %d", ErrFeedHTTP, path, status)
	if status >= 500 || status == http.StatusTooManyRequests {
		return transientError{err}
	}
	return err
}

// needVerifier refuses call, which installs what it fetches, on a
// Follower without its Verifier (ErrConfig), rather than panicking.
func (f *Follower) needVerifier(call string) error {
	if f.Verifier == nil {
		return fmt.Errorf("%w: Follower.%s needs Follower.Verifier, the verifier it keeps current: set it to what verifier.New built", ErrConfig, call)
	}
	return nil
}

// Run follows the RA until ctx ends; it returns ctx.Err(), or ErrConfig
// at once for a Follower without a Verifier.
func (f *Follower) Run(ctx context.Context) error {
	if err := f.needVerifier("Run"); err != nil {
		return err
	}
	log := f.logger()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if _, err := f.SyncRevocations(ctx); err != nil && ctx.Err() == nil {
				log.Warn("revocation feed", "err", err)
				f.failed(FollowRevocations, err)
				sleep(ctx, f.retryDelay())
			} else if err == nil {
				f.Verifier.followOK(FollowRevocations)
			}
		}
	}()
	interval := f.BundleInterval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := f.SyncBundle(ctx); err != nil && ctx.Err() == nil {
			log.Warn("bundle", "err", err)
			f.failed(FollowBundle, err)
		} else if err == nil {
			f.Verifier.followOK(FollowBundle)
		}
		// The CRLs' own dates decide what a failure here costs (the
		// Verifier warns from half a CRL's lifetime and refuses STALE
		// from its nextUpdate), so it is logged, not counted against
		// readiness.
		if _, err := f.SyncCRLs(ctx); err != nil && ctx.Err() == nil {
			log.Warn("CRLs", "err", err)
		}
		select {
		case <-ctx.Done():
			<-done
			return ctx.Err()
		case <-t.C:
		}
	}
}

// SyncBundle fetches the bundle once and installs it if it is newer than the
// one in force. It reports whether it installed one.
func (f *Follower) SyncBundle(ctx context.Context) (bool, error) {
	if err := f.needVerifier("SyncBundle"); err != nil {
		return false, err
	}
	if f.Compact && f.Verifier.certs == nil {
		return false, fmt.Errorf("%w: a compact bundle carries no certificates and the verifier has no certificate source (Options.Source)", ErrConfig)
	}
	have := f.bundleETag
	if cur := f.Verifier.Bundle(); f.Verifier.RevocationSeq() > cur.RevocationSeq || f.Verifier.PartySeq() > cur.PartySeq {
		// The feed has gone past the bundle in force, so the RA's bundle
		// differs from it (asked in full, it costs nothing more) unless
		// the RA went back, restored from a backup to the state of this
		// bundle: then a 304 would keep this Verifier ahead of the RA,
		// its feed requests refused, where installing the RA's bundle
		// follows it from there (SetBundle).
		have = ""
	}
	b, etag, err := f.fetchBundle(ctx, f.Verifier.clock(), have)
	if errors.Is(err, errNotModified) {
		return false, nil // the bundle in force is current (docs/bundle.md, "Conditional refresh")
	}
	if err != nil {
		return false, err
	}
	if !b.IssuedAt.After(f.Verifier.Bundle().IssuedAt) {
		return false, nil
	}
	if err := f.Verifier.SetBundle(b); err != nil {
		return false, err
	}
	f.bundleETag = etag
	f.logger().Info("bundle installed", "issued_at", b.IssuedAt, "generation", f.Verifier.Generation())
	return true, nil
}

// SyncCRLs fetches each of FollowedCRLs from the repository
// (RepositoryURL, default BaseURL) with If-None-Match, and adds what
// changed to the Verifier (AddCRL: it must verify against a CA the
// Verifier trusts, and a newer CRL of an issuer replaces the older). It
// reports whether it added one. A CRL not published yet (404) is skipped.
// Run calls it with each bundle refresh, so that the CRLs a Verifier
// holds (a trust directory's, whose ORL lives 24 hours) are replaced as
// the CA reissues them, before they reach their nextUpdate and the
// Verifier refuses everything STALE.
func (f *Follower) SyncCRLs(ctx context.Context) (bool, error) {
	if err := f.needVerifier("SyncCRLs"); err != nil {
		return false, err
	}
	base := f.RepositoryURL
	if base == "" {
		base = f.BaseURL
	}
	if f.crlVerifier != f.Verifier {
		f.crlETags, f.crlVerifier = map[string]string{}, f.Verifier
	}
	added := false
	for _, path := range FollowedCRLs {
		der, status, h, err := f.doAt(ctx, base, path, maxCRLFetch, f.crlETags[path])
		if err != nil {
			return added, err
		}
		switch status {
		case http.StatusOK:
		case http.StatusNotModified, http.StatusNotFound:
			continue
		default:
			return added, statusError(path, status)
		}
		if err := f.Verifier.AddCRL(der); err != nil {
			return added, fmt.Errorf("%s: %w", path, err)
		}
		f.crlETags[path] = h.Get("ETag")
		added = true
	}
	return added, nil
}

// FetchBundle fetches the RA's bundle and opens it against Roots at now,
// without installing it: SyncBundle's first half, and how a sidecar whose
// trust directory has no bundle gets its first (Verifier may be nil).
func (f *Follower) FetchBundle(ctx context.Context, now time.Time) (*bundle.Bundle, error) {
	b, _, err := f.fetchBundle(ctx, now, "")
	return b, err
}

// errNotModified: the RA answered 304 to If-None-Match.
var errNotModified = errors.New("bundle not modified")

// fetchBundle is FetchBundle with If-None-Match ifNoneMatch (when set);
// it returns the answer's ETag, or errNotModified on 304.
func (f *Follower) fetchBundle(ctx context.Context, now time.Time, ifNoneMatch string) (*bundle.Bundle, string, error) {
	path := "/v1/bundle"
	if f.Compact {
		path += "?certificates=omit"
	}
	data, status, hdr, err := f.do(ctx, path, bundle.MaxBundleSize, ifNoneMatch)
	if err != nil {
		return nil, "", err
	}
	if status == http.StatusNotModified && ifNoneMatch != "" {
		return nil, "", errNotModified
	}
	if status != http.StatusOK {
		return nil, "", statusError("/v1/bundle", status)
	}
	b, err := bundle.Open(data, f.Roots, now)
	return b, hdr.Get("ETag"), err
}

// SyncRevocations makes one feed request (the RA may hold it open until
// there is news: a revocation, or a party-status change beyond the
// Verifier's PartySeq) and applies the page. It reports whether a page was
// applied. An empty page (the RA's wait elapsed) is applied too: it
// refreshes the age of the revocation data. 204 No Content (an RA that
// answers a timed-out wait without a page) changes nothing.
func (f *Follower) SyncRevocations(ctx context.Context) (bool, error) {
	if err := f.needVerifier("SyncRevocations"); err != nil {
		return false, err
	}
	return f.syncRevocations(ctx, "")
}

// CatchUp applies the feed's pages newer than the Verifier's revocation
// sequence without waiting for news (wait=0), until one brings nothing
// newer: what a Verifier built afresh from a trust directory needs before
// it takes over from one that followed the RA (the sidecar on SIGHUP), so
// that no revocation the other had is missing for a moment.
func (f *Follower) CatchUp(ctx context.Context) error {
	if err := f.needVerifier("CatchUp"); err != nil {
		return err
	}
	for {
		before := f.Verifier.RevocationSeq()
		applied, err := f.syncRevocations(ctx, "0")
		if err != nil {
			return err
		}
		if !applied || f.Verifier.RevocationSeq() == before {
			return nil
		}
	}
}

// syncRevocations is SyncRevocations with the RA's wait ("": its default).
func (f *Follower) syncRevocations(ctx context.Context, wait string) (bool, error) {
	since := f.Verifier.RevocationSeq()
	path := "/v1/revocations?since=" + strconv.FormatUint(since, 10) + "&parties=" + strconv.FormatUint(f.Verifier.PartySeq(), 10)
	if wait != "" {
		path += "&wait=" + wait
	}
	data, status, err := f.get(ctx, path, bundle.MaxFeedSize)
	if err != nil {
		return false, err
	}
	switch status {
	case http.StatusNoContent:
		return false, nil
	case http.StatusOK:
	default:
		return false, statusError("/v1/revocations", status)
	}
	p, err := bundle.OpenFeedPage(data, f.Roots, f.Verifier.clock())
	if err != nil {
		return false, err
	}
	if err := f.Verifier.AddRevocations(p); err != nil {
		return false, err
	}
	if len(p.Revoked) > 0 {
		f.logger().Info("revocations applied", "seq", p.Seq, "entries", len(p.Revoked))
	}
	if f.OnRevocations != nil {
		f.OnRevocations(f.Verifier.RevocationSeq())
	}
	return true, nil
}

// FetchCertificate fetches the certificate with serial from the RA's
// repository (Follower is a CertificateSource): its DER, or
// ErrCertificateNotFound when the repository answers 404. The repository
// is public and its answer unsigned: the Verifier checks the certificate
// it gets against the chain and the revocation data like any signer.
func (f *Follower) FetchCertificate(ctx context.Context, serial *big.Int) ([]byte, error) {
	if serial.Sign() <= 0 {
		return nil, fmt.Errorf("%w: serial %s", ErrCertificateNotFound, serial)
	}
	base := f.RepositoryURL
	if base == "" {
		base = f.BaseURL
	}
	path := "/repo/certs/" + serial.Text(16) + ".der"
	data, status, _, err := f.doAt(ctx, base, path, maxCertificateSize, "")
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
		return data, nil
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: GET %s: 404", ErrCertificateNotFound, path)
	}
	return nil, statusError(path, status)
}

// IssuedSince lists the serials the RA issued after issuance number seq
// (Follower is an IssuedLister): GET {BaseURL}/repo/changes, the RA's
// live list of what it issued (docs/repository.md, "Changes"; not a
// mirror's, which does not serve it), one page at a time. Like the
// repository's certificates, the list is public and unsigned: it only
// spares lookups of serials it does not name; a signer it names is still
// looked up and checked as any other.
func (f *Follower) IssuedSince(ctx context.Context, seq uint64) ([]*big.Int, uint64, uint64, error) {
	// revoked_after the largest number: no revocations (the feed brings
	// them, signed).
	path := "/repo/changes?issued_after=" + strconv.FormatUint(seq, 10) +
		"&revoked_after=" + strconv.FormatUint(math.MaxUint64, 10) + "&limit=" + strconv.Itoa(issuedPage)
	data, status, err := f.get(ctx, path, maxChangesSize)
	if err != nil {
		return nil, 0, 0, err
	}
	if status != http.StatusOK {
		return nil, 0, 0, statusError("/repo/changes", status)
	}
	var page struct {
		IssuanceSeq uint64 `json:"issuance_seq"`
		Issued      []struct {
			Seq    uint64 `json:"seq"`
			Serial string `json:"serial"`
		} `json:"issued"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: GET /repo/changes: %v", ErrFeedHTTP, err)
	}
	out := make([]*big.Int, 0, len(page.Issued))
	last := seq
	for _, e := range page.Issued {
		n, ok := new(big.Int).SetString(e.Serial, 16)
		if !ok || n.Sign() <= 0 || e.Seq <= last {
			return nil, 0, 0, fmt.Errorf("%w: GET /repo/changes: entry %d (serial %q) is out of order or not a serial", ErrFeedHTTP, e.Seq, e.Serial)
		}
		out, last = append(out, n), e.Seq
	}
	return out, last, page.IssuanceSeq, nil
}

// issuedPage is how many issued serials IssuedSince asks for at a time
// (the repository's largest page), and maxChangesSize caps the answer
// (about 60 bytes of JSON an entry).
const (
	issuedPage     = 1000
	maxChangesSize = 1 << 20
)

// maxCertificateSize caps a certificate fetched from the repository.
const maxCertificateSize = 16 << 10

func (f *Follower) get(ctx context.Context, path string, limit int) ([]byte, int, error) {
	data, status, _, err := f.do(ctx, path, limit, "")
	return data, status, err
}

// do is get with If-None-Match (when set), returning the answer's header.
func (f *Follower) do(ctx context.Context, path string, limit int, ifNoneMatch string) ([]byte, int, http.Header, error) {
	return f.doAt(ctx, f.BaseURL, path, limit, ifNoneMatch)
}

// doAt is do against base rather than BaseURL.
func (f *Follower) doAt(ctx context.Context, base, path string, limit int, ifNoneMatch string) ([]byte, int, http.Header, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/") + path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	stall := f.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer timer.Stop()
	stalled := func(err error) error {
		if context.Cause(ctx) == errStalled {
			return fmt.Errorf("%w: GET %s: nothing received for %s (the RA, or a proxy on the way, stalled)", ErrFeedHTTP, path, stall)
		}
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, nil, err
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	c := f.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, nil, transientError{stalled(fmt.Errorf("%w: %v", ErrFeedHTTP, err))}
	}
	defer resp.Body.Close()
	timer.Reset(stall)
	data, err := io.ReadAll(io.LimitReader(&stallReader{r: resp.Body, t: timer, d: stall}, int64(limit)+1))
	if err != nil {
		return nil, 0, nil, transientError{stalled(fmt.Errorf("%w: read %s: %v", ErrFeedHTTP, path, err))}
	}
	if len(data) > limit {
		return nil, 0, nil, fmt.Errorf("%w: %s over %d bytes", bundle.ErrEnvelopeTooLarge, path, limit)
	}
	return data, resp.StatusCode, resp.Header, nil
}

func (f *Follower) failed(kind string, err error) {
	tolerate := f.Tolerate
	if tolerate == 0 {
		tolerate = DefaultTolerate
	}
	f.Verifier.followFailed(kind, err, tolerate)
	if f.OnError != nil {
		f.OnError(kind, err)
	}
}

func (f *Follower) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (f *Follower) retryDelay() time.Duration {
	if f.RetryDelay > 0 {
		return f.RetryDelay
	}
	return 5 * time.Second
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
