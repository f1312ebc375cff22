package ra

import (
	"context"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/publish"
	"github.com/smki/smki/store"
)

// DefaultBundleMaxAge is the max_age of exported bundles unless
// WithBundleMaxAge says otherwise: verifiers answer STALE after it.
const DefaultBundleMaxAge = 24 * time.Hour

// WithBundleMaxAge sets the max_age written into exported bundles.
func WithBundleMaxAge(d time.Duration) Option { return func(s *Service) { s.bundleMaxAge = d } }

// BundleAnswer is publish.Answer: a conditional bundle export, the signed
// envelope and its ETag, or NotModified when the caller's copy is good.
type BundleAnswer = publish.Answer

// BundleCertificates is publish.Certificates: whether an exported bundle
// embeds the end-entity certificates (docs/bundle.md, "Certificates").
type BundleCertificates = publish.Certificates

// The two forms of an exported bundle (publish.Embedded, publish.Omitted).
const (
	BundleEmbedded = publish.Embedded
	BundleOmitted  = publish.Omitted
)

// ExportBundle returns the signed policy bundle (docs/bundle.md) as of the
// service clock, for RA officers and verifier credentials. The read
// is audited before the build, so the bundle's audit_head covers its own
// export; the bundle is built from one read transaction, so its
// revocation_seq is exactly the sequence its revoked list is complete up
// to. ErrSigner if the service has no system signer.
func (s *Service) ExportBundle(ctx context.Context, a Actor) ([]byte, error) {
	ans, err := s.ExportBundleIf(ctx, a, "", publish.Embedded)
	return ans.Data, err
}

// ExportBundleIf is ExportBundle with a conditional refresh (GET
// /v1/bundle with If-None-Match, docs/bundle.md "Conditional refresh";
// publish.Publisher.SignedBundle says when the answer is NotModified),
// with the end-entity certificates embedded or omitted (certs; GET
// /v1/bundle?certificates=omit, docs/bundle.md "Certificates").
// The decision and its audit record are the RA's; ra/publish builds and
// signs.
func (s *Service) ExportBundleIf(ctx context.Context, a Actor, ifNoneMatch string, certs BundleCertificates) (BundleAnswer, error) {
	if s.signer == nil {
		err := s.signerMissing()
		s.refusedOf(ctx, a, ActReadBundle, "bundle", err)
		return BundleAnswer{}, err
	}
	if err := s.read(ctx, a, ActReadBundle, "bundle", func(_ store.Tx, me store.Officer) error {
		return Authorize(me, ActReadBundle, Target{})
	}); err != nil {
		return BundleAnswer{}, err
	}
	return s.pub.SignedBundle(ctx, ifNoneMatch, certs)
}

// BuildBundle assembles the unsigned bundle, certificates embedded, from
// the store in one read transaction (publish.Publisher.Bundle lists what
// it holds).
func (s *Service) BuildBundle(ctx context.Context) (*bundle.Bundle, error) {
	return s.pub.Bundle(ctx, publish.Embedded)
}
