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
type FeedPage struct {
	Seq      uint64        `json:"seq"`
	Revoked  []RevokedCert `json:"revoked"`
	IssuedAt time.Time     `json:"issued_at"`
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
	return nil
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
// envelope and decodes the page strictly.
func OpenFeedPage(data []byte, roots *x509.CertPool, now time.Time) (*FeedPage, error) {
	payload, err := open(data, FeedFormat, MaxFeedSize, roots, now)
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
	return &p, nil
}
