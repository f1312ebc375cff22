package bundle

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smki/smki/internal/strictjson"
)

// FeedPage is one answer of the RA's revocation feed
// (GET /v1/revocations?since=N): the revocations with sequence numbers in
// (N, Seq], and the time the RA issued the page. A page with no entries
// still proves the verifier's revocation data is current as of IssuedAt.
//
// A page from an RA that counts party-status changes also carries
// PartySeq, that count, and Parties, the status of every party that is
// not active as of PartySeq (a complete list: a party absent from it is
// active). A verifier applies it when PartySeq is higher than what it has
// (bundle or earlier page), so a suspension reaches it as fast as a
// revocation.
type FeedPage struct {
	Seq      uint64        `json:"seq"`
	Revoked  []RevokedCert `json:"revoked"`
	IssuedAt time.Time     `json:"issued_at"`
	PartySeq uint64        `json:"party_seq,omitempty"`
	Parties  []Party       `json:"parties,omitempty"`
	// RevokedParties is every party-wide revocation the RA holds (a
	// complete list, on every page; PartyRevocation). A verifier adds
	// them to what it has and never drops one.
	RevokedParties []PartyRevocation `json:"revoked_parties,omitempty"`
	// Signer is the envelope's signer certificate, set by OpenFeedPage
	// (never encoded): the Verifier refuses a page whose signer is revoked.
	Signer *x509.Certificate `json:"-"`
}

// Validate checks the invariants of a feed page: an issue time, and an
// issuer and a hex serial in every entry. It does not check signatures.
func (p *FeedPage) Validate() error {
	if p.IssuedAt.IsZero() {
		return fmt.Errorf("%w: issued_at missing", ErrFeedInvalid)
	}
	for i := range p.Revoked {
		if _, err := p.Revoked[i].SerialNumber(); err != nil || p.Revoked[i].Issuer == "" {
			return fmt.Errorf("%w: revoked[%d]: issuer and hex serial are required", ErrFeedInvalid, i)
		}
	}
	if len(p.Parties) > 0 && p.PartySeq == 0 {
		return fmt.Errorf("%w: parties without party_seq", ErrFeedInvalid)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrFeedInvalid, fmt.Sprintf(format, a...))
	}
	if err := validatePartyRevocations(p.RevokedParties, bad); err != nil {
		return err
	}
	return validateParties(p.Parties, bad)
}

// SignFeedPage signs p in the same envelope as a bundle, with format
// FeedFormat.
func SignFeedPage(p *FeedPage, signer crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal feed page: %v", ErrFeedInvalid, err)
	}
	return seal(FeedFormat, payload, signer, chain)
}

// OpenFeedPage checks a feed envelope exactly as Open checks a bundle
// envelope and decodes the page strictly; the signer's certificate is in
// FeedPage.Signer.
func OpenFeedPage(data []byte, roots *x509.CertPool, now time.Time) (*FeedPage, error) {
	payload, signer, err := open(data, FeedFormat, MaxFeedSize, roots, now)
	if err != nil {
		return nil, err
	}
	var p FeedPage
	if err := strictjson.Decode(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: feed payload: %v", ErrEnvelopeFormat, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.Signer = signer
	return &p, nil
}
