package testpki

import (
	"crypto/x509"
	"fmt"
	"path/filepath"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/durable"
)

// The scenario's revocation that arrives live, through the RA's feed
// rather than in the bundle or the CRLs (docs/testpki.md, "The feed page").
const (
	// FeedRevokedUser is the user whose certificate the feed page revokes
	// (keyCompromise, at At): the bundle and the CRLs still hold it good,
	// so its cases are accepted until the page is applied.
	FeedRevokedUser = "supplier-b-es-xml"
	// FeedPageFile is the signed feed page, relative to the output
	// directory.
	FeedPageFile = "feed-page.json"
	// ReasonKeyCompromise is the RFC 5280 CRLReason of FeedRevokedUser's
	// revocation.
	ReasonKeyCompromise = 1
)

// FeedPage returns the scenario's feed page: the answer of the RA's
// revocation feed (GET /v1/revocations?since=N, N the bundle's
// revocation_seq) issued at At, revoking FeedRevokedUser's certificate as
// of At, sequence number N+1.
func (p *PKI) FeedPage() *bundle.FeedPage {
	cert := p.Users[FeedRevokedUser].Cert
	return &bundle.FeedPage{
		Seq:      p.Bundle().RevocationSeq + 1,
		IssuedAt: p.At,
		Revoked: []bundle.RevokedCert{{Issuer: p.Issuing.Subject.String(), Serial: fmt.Sprintf("%x", cert.SerialNumber),
			RevokedAt: p.RevokedAt, Reason: ReasonKeyCompromise}},
	}
}

// SignFeedPage signs pg as the RA signs its feed pages: the feed envelope
// (bundle.SignFeedPage) with the RA's signer, the scenario's bundle key.
func (p *PKI) SignFeedPage(pg *bundle.FeedPage) ([]byte, error) {
	return bundle.SignFeedPage(pg, p.BundleKey, p.signerChain())
}

// signerChain is the RA signer's chain in its envelopes: the bundle
// signer's certificate, then the Issuing OCA.
func (p *PKI) signerChain() []*x509.Certificate {
	return []*x509.Certificate{p.BundleCert, p.Issuing}
}

func (p *PKI) writeFeedPage() error {
	data, err := p.SignFeedPage(p.FeedPage())
	if err != nil {
		return fmt.Errorf("testpki: signing feed page: %w", err)
	}
	return durable.WriteNew(filepath.Join(p.Dir, FeedPageFile), data, 0o644)
}
