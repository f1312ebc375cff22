package verifier

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier/duis"
	"github.com/smki/smki/verifier/xmldsig"
)

// Options configure a Verifier. Roots and Bundle are required.
type Options struct {
	// Roots are the trust anchors (the Root OCA). Only they are trusted.
	// Each must be a CA certificate (New refuses a nil entry or a
	// non-CA, ErrConfig, as it does for Intermediates).
	Roots []*x509.Certificate
	// Intermediates (the Issuing OCA) help build chains; they are trusted
	// only through Roots.
	Intermediates []*x509.Certificate
	// Certificates are extra certificate-repository entries (beside the
	// bundle's) that KeyInfo X509IssuerSerial may name.
	Certificates []*x509.Certificate
	// Source, if set, is asked for a signer certificate that neither the
	// repository above nor the request's KeyInfo holds (a bundle fetched
	// for following carries no end-entity certificates; docs/verifier.md,
	// "Certificates by IssuerSerial"). What it answers is cached and
	// checked like any signer; without it, or when it has none, the
	// request is refused CERT.
	Source CertificateSource
	// Bundle is the verified policy bundle (OpenBundle).
	Bundle *bundle.Bundle
	// CRLs are DER CRLs (ARL, ORL); each must verify against a trusted CA.
	CRLs [][]byte
	// Clock gives "now" for data freshness (STALE); default time.Now.
	Clock func() time.Time
	// Limits bound XML parsing; zero fields take xmldsig defaults. A
	// negative field, or one above its hard ceiling (xmldsig.MaxLimits,
	// four times the default), is refused (ErrConfig, naming the field):
	// past the ceilings one hostile request could cost seconds of CPU and
	// gigabytes of memory.
	Limits xmldsig.Limits
	// MaxAge is the oldest bundle or revocation data the Verifier acts
	// on. Zero means the bundle's own max_age; when both are set the
	// smaller wins.
	MaxAge time.Duration
	// Eligibility is the DUIS role -> SRV matrix; default policy.Default().
	// A bundle allow-list for a role replaces it for that role.
	Eligibility *policy.Eligibility
	// DeviceRules is the role -> device eligibility table (E4); default
	// policy.DefaultDeviceRules().
	DeviceRules *policy.DeviceRules
	// Replay remembers accepted counters; default an in-memory store. If
	// it is also a Journal (StateFile is), the ADT windows are kept there
	// too, resumed from it here, and accepts share its group fsync. It is
	// NewLedger(Replay) when Ledger is nil (the store's one Ledger, shared
	// with every Verifier given the same store), and must be nil when it
	// is not.
	Replay ReplayStore
	// Ledger, if set, is what this Verifier's decisions remember (replay
	// counters, ADT windows), shared with the Verifiers built before it
	// on the same Ledger: what a process rebuilding its Verifier (a
	// sidecar reloading its trust directory) passes to each, so that a
	// rebuild forgets no accepted counter and no ADT count.
	Ledger *Ledger
	// Logger receives one INFO record per decision (docs/verifier.md,
	// "Decision log"): an accept with its RequestID, Service Reference
	// Variant, role and route; a reject with its code and reason; never
	// the request. Default none (nothing is formatted).
	Logger *slog.Logger
}

// Decision is the verifier's answer (contract, docs/verifier.md): JSON
// {"decision","code","reason","route"} always with all four keys; code is
// "" on accept and route is "" on reject. Warnings (ADT warning threshold
// reached) appear only when there are some.
type Decision struct {
	Decision string        `json:"decision"`
	Code     string        `json:"code"`
	Reason   string        `json:"reason"`
	Route    string        `json:"route"`
	Warnings []string      `json:"warnings,omitempty"`
	Request  *duis.Request `json:"-"`
	role     role.UserRole // the accepted user's (the decision log's)
}

// Accepted reports whether d accepts the request.
func (d Decision) Accepted() bool { return d.Decision == Accept }

// reject is a rejecting Decision. Its reason (contract, docs/verifier.md
// "Decision") says what is wrong and then, after "; ", what to do next;
// the code is Code alone, and no library's text goes in (detail strips a
// wrapped error's code; library errors are told in smki's own words).
func reject(code, format string, a ...any) Decision {
	return Decision{Decision: Reject, Code: code, Reason: fmt.Sprintf(format, a...)}
}

// leadingCode is a stable code at the start of an error's text.
var leadingCode = regexp.MustCompile(`^(E_[A-Z0-9_]+|[A-Z][A-Z0-9]*): `)

// detail is err's text without the code it starts with ("MALFORMED: ",
// "E_GBCS_NOT_CREDIT: "), for a reason whose code is the Decision's.
func detail(err error) string {
	return leadingCode.ReplaceAllString(err.Error(), "")
}

// Verifier checks signed DUIS Service Requests against trust anchors, a
// policy bundle and revocation data. It is safe for concurrent use; the
// bundle and revocation data can be swapped while it runs.
type Verifier struct {
	ta     *trustAnchors
	extra  []*x509.Certificate
	certs  *certCache // nil without Options.Source
	clock  func() time.Time
	limits xmldsig.Limits
	maxAge time.Duration
	elig   *policy.Eligibility
	rules  *policy.DeviceRules
	log    *slog.Logger

	cur atomic.Pointer[state]

	// mu serialises updates (SetBundle, AddRevocations, AddCRL) and guards
	// the revocation inputs they merge.
	mu         sync.Mutex
	gen        uint64
	feed       map[certKey]time.Time
	feedSeq    uint64
	feedIssued time.Time
	// feedParties is the party-status list of the newest feed page that
	// carried one (feedPartySeq > 0): every party not active.
	feedParties  map[eui64.ID]string
	feedPartySeq uint64
	// feedPartyRev: the party-wide revocations of every feed page applied
	// (merged, never dropped).
	feedPartyRev map[eui64.ID]bundle.PartyRevocation
	crlDERs      [][]byte
	crls         *crlSet

	// led is what decisions remember; its lock makes the last step of a
	// decision atomic across concurrent requests (and Verifiers sharing
	// it).
	led *Ledger

	follow followHealth // why the RA cannot be followed (readiness.go)
}

// New checks opts and returns a Verifier. Every CRL must verify against a
// configured CA: a CRL that does not is an error (ErrConfig), never
// ignored.
func New(opts Options) (*Verifier, error) {
	if opts.Bundle == nil {
		return nil, fmt.Errorf("%w: no bundle", ErrConfig)
	}
	ta, err := newTrustAnchors(opts.Roots, opts.Intermediates)
	if err != nil {
		return nil, err
	}
	for i, c := range opts.Certificates {
		if c == nil {
			return nil, fmt.Errorf("%w: Certificates[%d] is nil (a certificate that did not parse?)", ErrConfig, i)
		}
	}
	if err := opts.Limits.Check(); err != nil {
		var le *xmldsig.LimitsError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("%w: %s", ErrConfig, le.Reason())
		}
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	crls, err := loadCRLs(opts.CRLs, ta)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		ta: ta, extra: opts.Certificates, clock: opts.Clock, limits: opts.Limits,
		maxAge: opts.MaxAge, elig: opts.Eligibility, rules: opts.DeviceRules, log: opts.Logger,
		feed: map[certKey]time.Time{}, crlDERs: opts.CRLs, crls: crls,
		led: opts.Ledger,
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	if opts.Source != nil {
		v.certs = newCertCache(opts.Source, ta, v.clock)
	}
	if v.elig == nil {
		v.elig = policy.Default()
	}
	if v.rules == nil {
		v.rules = policy.DefaultDeviceRules()
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.led == nil {
		v.led = NewLedger(opts.Replay)
	} else if opts.Replay != nil {
		return nil, fmt.Errorf("%w: both Replay and Ledger set (give the ReplayStore to NewLedger)", ErrConfig)
	}
	if v.maxAge < 0 {
		return nil, fmt.Errorf("%w: negative MaxAge", ErrConfig)
	}
	if err := v.SetBundle(opts.Bundle); err != nil {
		return nil, err
	}
	return v, nil
}

// SetBundle installs a new bundle (already opened and verified) for all
// requests that start after it returns. It takes effect without restart:
// allow-lists, users, SoLR events and the repository all come from it.
// The chain cache starts empty. It refuses (ErrBundleInvalid) a bundle
// older than the current one, unless the current one is from the future
// (dated more than the clock skew after now), and a bundle from the
// future, unless it is the first (New's).
func (v *Verifier) SetBundle(b *bundle.Bundle) error {
	if v == nil || v.ta == nil { // New sets ta before it installs the first bundle
		return errNotBuilt()
	}
	if b == nil {
		return errNilBundle()
	}
	pol, err := compilePolicy(b, v.ta, v.extra, v.rules)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// Issue 12 finding 4: a bundle whose signer is revoked by the CRLs,
	// the feed, or the bundle's own revocations is refused.
	if err := v.signerNotRevokedLocked(b.Signer, pol, v.feed, "bundle"); err != nil {
		return err
	}
	now := v.clock()
	if old := v.cur.Load(); old != nil {
		// A bundle from the future replaces nothing: installed, it would
		// answer STALE until its time came and refuse every honest bundle
		// meanwhile as older. Only the first (New) is installed whatever
		// its date, and answers STALE while it is from the future; a
		// current bundle from the future is replaced by any other.
		if fromTheFuture(b.IssuedAt, now) {
			return fmt.Errorf("%w: bundle issued %s is more than %s after now (%s): the RA's clock or this one is wrong; the current bundle stays",
				bundle.ErrBundleInvalid, b.IssuedAt.UTC().Format(time.RFC3339), clockSkew, now.UTC().Format(time.RFC3339))
		}
		if b.IssuedAt.Before(old.pol.bundle.IssuedAt) && !fromTheFuture(old.pol.bundle.IssuedAt, now) {
			return fmt.Errorf("%w: bundle issued %s is older than the current one (%s)", bundle.ErrBundleInvalid,
				b.IssuedAt.Format(time.RFC3339), old.pol.bundle.IssuedAt.Format(time.RFC3339))
		}
	}
	// A bundle built after the last feed page yet behind it (a lower
	// revocation_seq or party_seq): the RA was restored from a backup and
	// numbers anew from the bundle's point. Follow it from there, or its
	// new pages would be refused as older and its new revocations skipped
	// as seen. What the pages revoked stays in force (v.feed is kept).
	if b.IssuedAt.After(v.feedIssued) && (b.RevocationSeq < v.feedSeq || b.PartySeq < v.feedPartySeq) {
		v.feedSeq, v.feedPartySeq, v.feedParties = 0, 0, nil
	}
	v.publishLocked(pol)
	return nil
}

// AddRevocations merges a verified feed page (OpenFeedPage). Its entries
// take effect at once; its IssuedAt refreshes the revocation data's age.
// A page older than the last one applied is refused, and so is a page
// dated more than clockSkew after now: applied, it would make the data
// look current until that time, and make every honest page after it look
// older.
func (v *Verifier) AddRevocations(p *bundle.FeedPage) error {
	if !v.built() {
		return errNotBuilt()
	}
	if p == nil {
		return errNilPage()
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if now := v.clock(); fromTheFuture(p.IssuedAt, now) {
		return fmt.Errorf("%w: page issued %s is more than %s after now (%s): the RA's clock or this one is wrong",
			bundle.ErrFeedInvalid, p.IssuedAt.UTC().Format(time.RFC3339), clockSkew, now.UTC().Format(time.RFC3339))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if p.Seq < v.feedSeq || p.IssuedAt.Before(v.feedIssued) {
		return fmt.Errorf("%w: page seq %d issued %s is older than seq %d issued %s", bundle.ErrFeedInvalid,
			p.Seq, p.IssuedAt.Format(time.RFC3339), v.feedSeq, v.feedIssued.Format(time.RFC3339))
	}
	page := make(map[certKey]time.Time, len(p.Revoked))
	if err := addRevoked(page, p.Revoked); err != nil {
		return fmt.Errorf("%w: %v", bundle.ErrFeedInvalid, err)
	}
	cur := v.cur.Load()
	// A page signed by a revoked signer is refused, including one whose
	// own entries revoke its signer (the RA signs that page with the new
	// signer; see "Signer rotation" in docs/bundle.md). cur.rev is the
	// bundle, the feed so far and the CRLs merged; rev adds the page.
	rev := cur.rev.withPage(page, p.Seq, p.IssuedAt)
	if err := v.refuseRevokedSigner(p.Signer, "feed page", rev); err != nil {
		return err
	}
	if p.PartySeq > 0 && p.PartySeq < v.feedPartySeq {
		return fmt.Errorf("%w: page party_seq %d is older than %d", bundle.ErrFeedInvalid, p.PartySeq, v.feedPartySeq)
	}
	if p.PartySeq > v.feedPartySeq {
		v.feedParties, v.feedPartySeq = inactiveParties(p.Parties), p.PartySeq
	}
	if len(p.RevokedParties) > 0 {
		v.feedPartyRev = bundle.MergePartyRevocations(maps.Clone(v.feedPartyRev), p.RevokedParties)
	}
	// v.feed is this Verifier's own (no published state reads it): the
	// page is added in place, and the new generation's revocation data is
	// the current one with the page (withPage), not a merge of everything.
	mergeEarliest(v.feed, page)
	v.feedSeq, v.feedIssued = p.Seq, p.IssuedAt
	v.publishRevLocked(cur.pol, rev)
	return nil
}

// signerNotRevokedLocked refuses an envelope signer (nil: a bundle or page
// built in process, not opened from an envelope) revoked at or before now
// by any source the verifier holds: the trust directory's CRLs, the feed
// (with the page being applied), or the bundle (pol, the one being
// installed or the one in force). v.mu must be held.
func (v *Verifier) signerNotRevokedLocked(signer *x509.Certificate, pol *policyState, feed map[certKey]time.Time, what string) error {
	if signer == nil {
		return nil
	}
	return v.refuseRevokedSigner(signer, what, mergeRevocations(pol, feed, 0, time.Time{}, v.crls))
}

// refuseRevokedSigner refuses an envelope signer (nil: none) that rev
// revokes at or before now.
func (v *Verifier) refuseRevokedSigner(signer *x509.Certificate, what string, rev *revState) error {
	if signer == nil {
		return nil
	}
	if when, revoked := rev.revokedAt([]certKey{keyOf(signer)}); revoked && !v.clock().Before(when) {
		return fmt.Errorf("%w: the %s's signer (serial %x) was revoked at %s; the RA must sign with a new system signer",
			bundle.ErrSignerRevoked, what, signer.SerialNumber, when.UTC().Format(time.RFC3339))
	}
	return nil
}

// AddCRL adds a DER CRL (verified against the trusted CAs like those of
// Options.CRLs) at runtime. A CRL of an issuer the Verifier already holds
// a CRL of, with a higher CRL number, replaces the older ones (a CRL is
// complete: the newer lists every revocation the older did of a
// certificate still valid), so adding each new ORL as it is published
// keeps one per issuer in memory, not every one ever added; one with a
// lower number, or the same bytes again, changes nothing.
func (v *Verifier) AddCRL(der []byte) error {
	if !v.built() {
		return errNotBuilt()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	ders, changed, err := supersede(v.crlDERs, der, v.ta)
	if err != nil || !changed {
		return err
	}
	crls, err := loadCRLs(ders, v.ta)
	if err != nil {
		return err
	}
	v.crlDERs, v.crls = ders, crls
	v.publishLocked(v.cur.Load().pol)
	return nil
}

// publishLocked swaps in a new generation with pol and the revocation
// data merged anew. v.mu must be held.
func (v *Verifier) publishLocked(pol *policyState) {
	v.publishRevLocked(pol, mergeRevocations(pol, v.feed, v.feedSeq, v.feedIssued, v.crls))
}

// publishRevLocked swaps in a new generation with pol and rev (which must
// be pol, v.feed and v.crls merged). The chain cache is kept when pol is
// the one in force (see state). v.mu must be held.
func (v *Verifier) publishRevLocked(pol *policyState, rev *revState) {
	cache := &sync.Map{}
	if cur := v.cur.Load(); cur != nil && cur.pol == pol {
		cache = cur.cache
	}
	v.gen++
	party := pol.inactive
	if v.feedPartySeq > pol.bundle.PartySeq {
		party = v.feedParties
	}
	partyRev := pol.partyRev
	if len(v.feedPartyRev) > 0 {
		partyRev = bundle.MergePartyRevocations(maps.Clone(pol.partyRev), slices.Collect(maps.Values(v.feedPartyRev)))
	}
	v.cur.Store(&state{
		gen:      v.gen,
		pol:      pol,
		rev:      rev,
		party:    party,
		partyRev: partyRev,
		cache:    cache,
	})
}

// PartySeq is the party-status sequence in force (bundle or feed), the
// "parties" of the next feed request.
func (v *Verifier) PartySeq() uint64 {
	if !v.built() {
		return 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return max(v.feedPartySeq, v.cur.Load().pol.bundle.PartySeq)
}

// Generation counts bundle and revocation updates. A new bundle empties
// the chain cache; new revocation data does not (a chain check reads no
// revocation data; every request checks revocation itself).
func (v *Verifier) Generation() uint64 {
	if !v.built() {
		return 0
	}
	return v.cur.Load().gen
}

// RevocationSeq is the highest revocation sequence number known (bundle
// or feed), the "since" of the next feed request.
func (v *Verifier) RevocationSeq() uint64 {
	if !v.built() {
		return 0
	}
	return v.cur.Load().rev.seq
}

// Bundle returns the bundle in force (nil for a Verifier New did not make).
func (v *Verifier) Bundle() *bundle.Bundle {
	if !v.built() {
		return nil
	}
	return v.cur.Load().pol.bundle
}

// effectiveMaxAge is the smaller of Options.MaxAge and the bundle's.
func (v *Verifier) effectiveMaxAge(b *bundle.Bundle) time.Duration {
	m := time.Duration(b.MaxAge)
	if v.maxAge > 0 && (m <= 0 || v.maxAge < m) {
		m = v.maxAge
	}
	return m
}
