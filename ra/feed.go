package ra

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/ownpki"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/store"
)

// Revocation feed limits (GET /v1/revocations, docs/api.md).
const (
	// DefaultFeedPageBytes sizes a feed page (feedhub.DefaultPageBytes).
	DefaultFeedPageBytes = feedhub.DefaultPageBytes
	// feedChunk is how many entries a page reads from the store at a
	// time while filling its byte budget.
	feedChunk = 8192
	// DefaultFeedWait is how long a request without wait= is held open.
	DefaultFeedWait = 30 * time.Second
	// MaxFeedWait is the longest wait= accepted. It stays under the 60 s
	// timeout of raclient.Client and of common proxies.
	MaxFeedWait = 50 * time.Second
	// DefaultFeedPoll is how often a held request looks at the store's
	// revocation sequence (feedhub.DefaultPoll).
	DefaultFeedPoll = feedhub.DefaultPoll
)

// WithFeedTuning sets a cap on the entries of one feed page (default:
// none, pages are sized by DefaultFeedPageBytes) and the store poll
// interval of held requests (default DefaultFeedPoll). Zero keeps a
// default.
func WithFeedTuning(pageSize int, poll time.Duration) Option {
	return func(s *Service) {
		if pageSize > 0 {
			s.feed.PageSize = pageSize
		}
		if poll > 0 {
			s.feed.Poll = poll
		}
	}
}

// Revocations answers GET /v1/revocations?since=since&wait=wait: the
// revocation feed verifiers follow (verifier.Follower). It returns a feed
// envelope signed by the system signer (bundle.SignFeedPage).
//
//   - If the store holds revocations after since, it answers at once with
//     the first of them, as many as fit DefaultFeedPageBytes (and the
//     entry cap of WithFeedTuning, if set); the page's Seq is the highest
//     sequence number it includes.
//   - Otherwise it holds the request until a revocation commits (a
//     revocation through this Service wakes it at once, one by another
//     instance is seen within the poll interval) or wait elapses, and then
//     answers an empty page with Seq = since. An empty page still proves
//     the verifier's revocation data current as of its IssuedAt.
//
// since beyond the current sequence is ErrBadRequest (the verifier
// follows another RA, or this one was restored from an older backup:
// either way its data must not be silently trusted). wait must be in
// [0, MaxFeedWait]. Without a system signer it fails with ErrSigner.
// Allowed reads are not audited: every verifier makes one every few
// seconds and they reveal nothing the signed pages do not; refusals are
// audited.
func (s *Service) Revocations(ctx context.Context, a Actor, since uint64, wait time.Duration) ([]byte, error) {
	return s.Feed(ctx, a, FeedQuery{Since: since, Wait: wait})
}

// FeedQuery is one feed request: Since and Wait as for Revocations, and
// Parties, when set, the party-status sequence the follower has
// (parties=M): a page is then answered at once, not held, while the RA's
// party-status sequence is higher (docs/bundle.md, "Party status").
type FeedQuery struct {
	Since   uint64
	Wait    time.Duration
	Parties *uint64
}

// Feed is Revocations with the party-status part of the feed: every page
// carries party_seq and the parties that are not active.
func (s *Service) Feed(ctx context.Context, a Actor, q FeedQuery) ([]byte, error) {
	since, wait := q.Since, q.Wait
	if s.signer == nil {
		return nil, fmt.Errorf("%w: no system signer configured; the feed is not published", ownpki.ErrSigner)
	}
	if wait < 0 || wait > MaxFeedWait {
		return nil, fmt.Errorf("%w: wait %s is outside [0, %s]", ErrBadRequest, wait, MaxFeedWait)
	}
	if err := s.authorizeFeed(ctx, a); err != nil {
		return nil, err
	}
	timer := s.feed.Timer(wait)
	defer timer.Stop()
	drain := s.feed.Draining()
	for expired := false; ; {
		// Take the wake-up channel before reading the store, so that a
		// revocation or party-status change committing in between is
		// never missed.
		changed := s.feed.Changed()
		page, err := s.feedPage(ctx, since, q.Parties)
		if err != nil {
			return nil, err
		}
		partyNews := q.Parties != nil && page.PartySeq > *q.Parties
		if len(page.Revoked) > 0 || partyNews || expired {
			env, err := s.signer.SignFeedPage(page)
			if err != nil {
				return nil, fmt.Errorf("%w: signing feed page: %w", ownpki.ErrSigner, err)
			}
			return env, nil
		}
		release := s.feed.Hold(s.st, s.log)
		select {
		case <-changed:
		case <-timer.C:
			expired = true
		case <-drain:
			expired = true
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
		release()
	}
}

// HeldFeedRequests returns how many revocation-feed requests this
// Service is holding (long-polling) now: for tests and metrics that wait
// until followers are parked.
func (s *Service) HeldFeedRequests() int {
	return s.feed.Held()
}

// DrainFeed answers every held feed request at once, as if its wait had
// elapsed, and every later one without holding it. Call it when the
// server shuts down (http.Server.RegisterOnShutdown), so that Shutdown
// need not wait out the long polls; followers then retry elsewhere.
func (s *Service) DrainFeed() {
	s.feed.Drain()
}

// authorizeFeed checks, once per request, that a is still an active
// officer whose policy lets it read the feed.
func (s *Service) authorizeFeed(ctx context.Context, a Actor) error {
	err := s.st.View(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		return Authorize(me, ActReadFeed, Target{})
	})
	if err != nil {
		s.refusedOf(ctx, a, ActReadFeed, "revocations", err)
	}
	return err
}

// feedPage reads the revocations after since (as many as fit a page) in
// one read transaction. Revoked is empty when there are none; Seq is then
// since.
//
// A follower behind on party status (partiesHave below the RA's
// party_seq) gets the party part alone first, with no entries and Seq =
// since: a page that costs nothing to build, send and apply, so a failed
// Supplier's status and party-wide revocation reach it before the
// entries, which it asks for next (docs/bundle.md, "Party-wide
// revocation").
func (s *Service) feedPage(ctx context.Context, since uint64, partiesHave *uint64) (*bundle.FeedPage, error) {
	page := &bundle.FeedPage{Seq: since, Revoked: []bundle.RevokedCert{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		if err := feedParties(tx, page); err != nil {
			return err
		}
		s.feed.AdvanceParty(page.PartySeq)
		cur, err := tx.RevocationSeq()
		if err != nil {
			return fmt.Errorf("%w: revocation sequence: %w", ErrInternal, err)
		}
		s.feed.Advance(cur)
		if since > cur {
			return fmt.Errorf("%w: since %d is beyond the current revocation sequence %d", ErrBadRequest, since, cur)
		}
		if since == cur || (partiesHave != nil && page.PartySeq > *partiesHave) {
			return nil
		}
		return s.fillFeedPage(tx, page, cur)
	})
	if err != nil {
		return nil, err
	}
	page.IssuedAt = s.now().UTC()
	return page, nil
}

// issuerDN maps a store issuer name to the issuer DN a verifier keys its
// revocation list on. Both CAs are known from the system signer's chain
// (signer, Issuing OCA): the Issuing OCA's issuer is the Root OCA.
func (s *Service) issuerDN(name string) (string, error) {
	chain := s.signer.Chain()
	var issuing *x509.Certificate
	if len(chain) > 1 {
		issuing = chain[1]
	}
	switch {
	case issuing == nil:
	case name == ca.IssuerIssuing:
		return issuing.Subject.String(), nil
	case name == ca.IssuerRoot:
		return issuing.Issuer.String(), nil
	}
	return "", fmt.Errorf("%w: revocation by unknown issuer %q", ErrInternal, name)
}

// feedEntryOverhead bounds the JSON of one feed entry beyond its issuer
// and serial: the member names, quotes, a revoked_at with nanoseconds and
// a reason.
const feedEntryOverhead = 96

// fillFeedPage appends the revocations after page.Seq up to cur, reading
// feedChunk at a time, while their JSON fits the byte budget
// (DefaultFeedPageBytes; at least one entry) and the entry cap, if one is
// set.
func (s *Service) fillFeedPage(tx store.Tx, page *bundle.FeedPage, cur uint64) error {
	maxEntries, budget := s.feed.Limit(), s.feed.Budget()
	size := 0
	for page.Seq < cur && len(page.Revoked) < maxEntries {
		n := min(feedChunk, maxEntries-len(page.Revoked))
		revs, err := tx.RevocationsSince(page.Seq, n)
		if err != nil {
			return fmt.Errorf("%w: revocations since %d: %w", ErrInternal, page.Seq, err)
		}
		for _, r := range revs {
			issuer, err := s.issuerDN(r.Issuer)
			if err != nil {
				return err
			}
			size += feedEntryOverhead + len(issuer) + len(r.Serial)
			if size > budget && len(page.Revoked) > 0 {
				return nil
			}
			page.Revoked = append(page.Revoked, bundle.RevokedCert{Issuer: issuer, Serial: r.Serial,
				RevokedAt: r.RevokedAt.UTC(), Reason: r.Reason})
			page.Seq = max(page.Seq, r.Seq)
		}
		if len(revs) < n {
			return nil
		}
	}
	return nil
}
