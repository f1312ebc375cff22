package ra

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/store"
)

// BundleAnswer is a conditional bundle export: the signed envelope and its
// ETag, or NotModified (no Data) when the caller's copy is still good.
type BundleAnswer struct {
	Data        []byte
	ETag        string
	NotModified bool
}

// ExportBundleIf is ExportBundle with a conditional refresh (GET
// /v1/bundle with If-None-Match, docs/bundle.md "Conditional refresh").
// The ETag is "<content>-<issued_at>": content, a hash of the bundle
// without its issued_at and audit_head (which change on every export),
// and the Unix time it was issued. ifNoneMatch names the caller's copy: if
// its content is the current one and it was issued less than half of
// max_age ago, the answer is NotModified, so a verifier keeps the bundle
// it has (no transfer, no parse) and never holds one older than max_age/2
// plus its refresh interval. Anything else is a fresh signed bundle.
func (s *Service) ExportBundleIf(ctx context.Context, a Actor, ifNoneMatch string) (BundleAnswer, error) {
	if s.signer == nil {
		err := fmt.Errorf("%w: no system signer configured", ownpki.ErrSigner)
		s.refusedOf(ctx, a, ActReadBundle, "bundle", err)
		return BundleAnswer{}, err
	}
	if err := s.read(ctx, a, ActReadBundle, "bundle", func(_ store.Tx, me store.Officer) error {
		return Authorize(me, ActReadBundle, Target{})
	}); err != nil {
		return BundleAnswer{}, err
	}
	b, err := s.BuildBundle(ctx)
	if err != nil {
		return BundleAnswer{}, err
	}
	content, err := bundleContentHash(b)
	if err != nil {
		return BundleAnswer{}, err
	}
	if have, issued, ok := parseBundleETag(ifNoneMatch); ok && have == content &&
		b.IssuedAt.Sub(issued) < time.Duration(b.MaxAge)/2 && !issued.After(b.IssuedAt) {
		return BundleAnswer{ETag: ifNoneMatch, NotModified: true}, nil
	}
	data, err := s.signer.SignBundle(b)
	if err != nil {
		return BundleAnswer{}, fmt.Errorf("%w: signing the bundle: %w", ownpki.ErrSigner, err)
	}
	return BundleAnswer{Data: data, ETag: `"` + content + "-" + strconv.FormatInt(b.IssuedAt.Unix(), 10) + `"`}, nil
}

// bundleContentHash hashes b without issued_at and audit_head.
func bundleContentHash(b *bundle.Bundle) (string, error) {
	c := *b
	c.IssuedAt, c.AuditHead = time.Time{}, nil
	j, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("%w: bundle content: %v", ErrInternal, err)
	}
	h := sha256.Sum256(j)
	return hex.EncodeToString(h[:16]), nil
}

// parseBundleETag reads one ETag of ours ("<content>-<unix>"); a list or
// anything else is not ours (ok false: a fresh bundle is sent).
func parseBundleETag(s string) (content string, issued time.Time, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", time.Time{}, false
	}
	content, unix, found := strings.Cut(s[1:len(s)-1], "-")
	if !found || len(content) != 32 {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return content, time.Unix(n, 0), true
}
