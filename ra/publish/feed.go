package publish

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// Revocation feed limits (GET /v1/revocations, docs/api.md).
const (
	// feedChunk is how many entries a page reads from the store at a
	// time while filling its byte budget.
	feedChunk = 8192
	// DefaultFeedWait is how long a request without wait= is held open.
	DefaultFeedWait = 30 * time.Second
	// MaxFeedWait is the longest wait= accepted. It stays under the 60 s
	// timeout of raclient.Client and of common proxies.
	MaxFeedWait = 50 * time.Second
)

// FeedQuery is one feed request: Since and Wait as for ra's Revocations,
// and Parties, when set, the party-status sequence the follower has
// (parties=M): a page is then answered at once, not held, while the RA's
// party-status sequence is higher (docs/bundle.md, "Party status").
type FeedQuery struct {
	Since   uint64
	Wait    time.Duration
	Parties *uint64
}

// Feed answers one feed request with a page signed by the system signer
// (bundle.SignFeedPage): at once if the store holds revocations after
// q.Since (or party news), else once one commits or q.Wait elapses (an
// empty page with Seq = since). authorize is the caller's decision
// whether this reader may have the feed: it is called after the request
// is found well formed and before anything is read, and again after a
// hold before anything is answered (checkAgain), so that a reader
// suspended or removed while held gets the refusal, not the page.
func (p *Publisher) Feed(ctx context.Context, q FeedQuery, authorize func() error) ([]byte, error) {
	since, wait := q.Since, q.Wait
	if err := p.Ready(); err != nil {
		return nil, err
	}
	if wait < 0 || wait > MaxFeedWait {
		return nil, fmt.Errorf("%w: wait %s is outside [0, %s]", raerr.ErrBadRequest, wait, MaxFeedWait)
	}
	epoch := p.hub.OfficerEpoch()
	if err := authorize(); err != nil {
		return nil, err
	}
	timer := p.hub.Timer(wait)
	defer timer.Stop()
	drain := p.hub.Draining()
	for expired, held := false, false; ; held = true {
		// Take the wake-up channel before reading the store, so that a
		// revocation or party-status change committing in between is
		// never missed.
		changed := p.hub.Changed()
		page := p.partyNewsPage(since, q.Parties)
		if held && (page == nil || p.hub.OfficerEpoch() != epoch) {
			// checkAgain: the reader may have been suspended or removed
			// while held. A page read from the store costs the check one
			// more read (and sees a change made by another instance); the
			// party-news page, answered without a read, checks only when
			// an officer's status changed in this process.
			epoch = p.hub.OfficerEpoch()
			if err := authorize(); err != nil {
				return nil, err
			}
		}
		if page == nil {
			var err error
			if page, err = p.feedPage(ctx, since, q.Parties); err != nil {
				return nil, err
			}
		}
		partyNews := q.Parties != nil && page.PartySeq > *q.Parties
		if len(page.Revoked) > 0 || partyNews || expired {
			env, err := p.signer.SignFeedPage(page)
			if err != nil {
				return nil, fmt.Errorf("%w: signing feed page: %w", ownpki.ErrSigner, err)
			}
			return env, nil
		}
		release := p.hub.Hold(p.st, p.log)
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
func (p *Publisher) feedPage(ctx context.Context, since uint64, partiesHave *uint64) (*bundle.FeedPage, error) {
	page := &bundle.FeedPage{Seq: since, Revoked: []bundle.RevokedCert{}}
	err := p.st.View(ctx, func(tx store.Tx) error {
		if err := p.feedParties(tx, page); err != nil {
			return err
		}
		p.hub.AdvanceParty(page.PartySeq)
		cur, err := tx.RevocationSeq()
		if err != nil {
			return fmt.Errorf("%w: revocation sequence: %w", raerr.ErrInternal, err)
		}
		p.hub.Advance(cur)
		if since > cur {
			return fmt.Errorf("%w: since %d is beyond the current revocation sequence %d", raerr.ErrBadRequest, since, cur)
		}
		if since == cur || (partiesHave != nil && page.PartySeq > *partiesHave) {
			return nil
		}
		return p.fillFeedPage(tx, page, cur)
	})
	if err != nil {
		return nil, err
	}
	page.IssuedAt = p.now().UTC()
	return page, nil
}

// partyNewsPage is the page for a follower behind on party status
// (partiesHave below the party part the hub holds, feedhub.SetPartyNews):
// the party part alone, no entries, Seq = since, built without reading
// the store, so a party's failure is delivered in one round trip even
// while the store's connections are all busy (bundle builds, a bulk
// revocation). nil: the hub has nothing newer, or since is beyond the
// revocation sequence the hub knows the store has reached: read the
// store, which refuses a since beyond its own (feedPage), so that no
// page is signed for a sequence the RA never reached (an RA restored
// from an older backup, a verifier pointed at another RA).
func (p *Publisher) partyNewsPage(since uint64, partiesHave *uint64) *bundle.FeedPage {
	if partiesHave == nil || since > p.hub.Seq() {
		return nil
	}
	n := p.hub.PartyNews()
	if n.Seq <= *partiesHave {
		return nil
	}
	return &bundle.FeedPage{Seq: since, Revoked: []bundle.RevokedCert{}, IssuedAt: p.now().UTC(),
		PartySeq: n.Seq, Parties: n.Parties, RevokedParties: n.Revoked}
}

// feedParties fills the party part of a feed page from tx: party_seq,
// every party that is not active, and every party-wide revocation; and
// hands it to the hub (partyNewsPage).
func (p *Publisher) feedParties(tx store.Tx, page *bundle.FeedPage) error {
	n, err := records.ReadPartyNews(tx)
	if err != nil {
		return err
	}
	page.PartySeq, page.Parties, page.RevokedParties = n.Seq, n.Parties, n.Revoked
	p.hub.SetPartyNews(n)
	return nil
}

// issuerDN maps a store issuer name to the issuer DN a verifier keys its
// revocation list on. Both CAs are known from the system signer's chain
// (signer, Issuing OCA): the Issuing OCA's issuer is the Root OCA.
func (p *Publisher) issuerDN(name string) (string, error) {
	chain := p.signer.Chain()
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
	return "", fmt.Errorf("%w: revocation by unknown issuer %q", raerr.ErrInternal, name)
}

// FeedEntryOverhead bounds the JSON of one feed entry beyond its issuer
// and serial: the member names, quotes, a revoked_at with nanoseconds and
// a reason.
const FeedEntryOverhead = 96

// fillFeedPage appends the revocations after page.Seq up to cur, reading
// feedChunk at a time, while their JSON fits the byte budget
// (feedhub.DefaultPageBytes; at least one entry) and the entry cap, if one
// is set.
func (p *Publisher) fillFeedPage(tx store.Tx, page *bundle.FeedPage, cur uint64) error {
	maxEntries, budget := p.hub.Limit(), p.hub.Budget()
	size := 0
	for page.Seq < cur && len(page.Revoked) < maxEntries {
		n := min(feedChunk, maxEntries-len(page.Revoked))
		revs, err := tx.RevocationsSince(page.Seq, n)
		if err != nil {
			return fmt.Errorf("%w: revocations since %d: %w", raerr.ErrInternal, page.Seq, err)
		}
		for _, r := range revs {
			issuer, err := p.issuerDN(r.Issuer)
			if err != nil {
				return err
			}
			size += FeedEntryOverhead + len(issuer) + len(r.Serial)
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
