package ra

import (
	"context"
	"time"

	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/publish"
	"github.com/smki/smki/store"
)

// Revocation feed limits (GET /v1/revocations, docs/api.md).
const (
	// DefaultFeedPageBytes sizes a feed page (feedhub.DefaultPageBytes).
	DefaultFeedPageBytes = feedhub.DefaultPageBytes
	// DefaultFeedWait is how long a request without wait= is held open.
	DefaultFeedWait = publish.DefaultFeedWait
	// MaxFeedWait is the longest wait= accepted (publish.MaxFeedWait).
	MaxFeedWait = publish.MaxFeedWait
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

// FeedQuery is publish.FeedQuery: Since and Wait as for Revocations, and
// Parties, the party-status sequence the follower has, if it says.
type FeedQuery = publish.FeedQuery

// Feed is Revocations with the party-status part of the feed: every page
// carries party_seq and the parties that are not active. The RA decides
// who may read it (authorizeFeed); ra/publish builds, holds and signs.
func (s *Service) Feed(ctx context.Context, a Actor, q FeedQuery) ([]byte, error) {
	if s.signer == nil {
		return nil, s.signerMissing()
	}
	return s.pub.Feed(ctx, q, func() error { return s.authorizeFeed(ctx, a) })
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

// authorizeFeed checks that a is still an active officer whose policy
// lets it read the feed: when the request arrives and again after a hold
// (publish.Publisher.Feed), so that an officer suspended or removed while
// held is refused, not answered.
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
