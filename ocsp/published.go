package ocsp

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	cfocsp "github.com/cloudflare/cfssl/ocsp"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/store"
)

// RecordKind is the store record kind of published responses: one record
// per certificate of the Issuing OCA, its ID the lower-case hex serial,
// its value a publishedResponse in JSON. A responder with Config.Publish
// writes them; a Published responder reads them. They are derived data
// (the responder re-signs and re-writes them), never a decision.
const RecordKind = "ocsp-response"

// publishBatch is how many responses one store transaction writes.
const publishBatch = 500

// publishedResponse is a RecordKind record's value: the signed response
// and what its HTTP headers are computed from.
type publishedResponse struct {
	Status     store.CertStatus `json:"status"`
	ThisUpdate time.Time        `json:"this_update"`
	NextUpdate time.Time        `json:"next_update"`
	DER        []byte           `json:"der"`
}

// publish writes m's responses to the store, publishBatch to a
// transaction. A response is written only if it says what the store says
// of the certificate in that transaction: a "good" signed from a read
// before a revocation (by this instance or another sharing the store)
// never replaces the "revoked" one, and such a certificate is left for
// the next Sync, which reads the revocation.
func (r *Responder) publish(ctx context.Context, m map[string]*entry) error {
	if !r.cfg.Publish || len(m) == 0 {
		return nil
	}
	serials := make([]string, 0, len(m))
	for s := range m {
		serials = append(serials, s)
	}
	for len(serials) > 0 {
		n := min(publishBatch, len(serials))
		batch := serials[:n]
		serials = serials[n:]
		err := r.cfg.Store.Update(ctx, func(tx store.Tx) error {
			for _, s := range batch {
				e := m[s]
				c, err := tx.GetCertificate(s)
				if err != nil {
					return err
				}
				if c.Status != e.status {
					continue
				}
				v, err := json.Marshal(publishedResponse{Status: e.status, ThisUpdate: e.thisUpdate, NextUpdate: e.nextUpdate, DER: e.der})
				if err != nil {
					return err
				}
				if err := tx.PutRecord(RecordKind, s, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w: publishing responses: %w", ErrStore, err)
		}
	}
	return nil
}

// PublishedConfig configures NewPublished.
type PublishedConfig struct {
	Store      store.Store       // read only
	Issuer     *x509.Certificate // the Issuing OCA
	IssuerName string            // store issuer name of Issuer's certificates (default "issuing-ca")
}

// Published answers OCSP requests with the responses an RA's Responder
// published in the store (Config.Publish), without signing anything: it
// holds no key. Every instance reading one store therefore gives the
// same bytes, and a revocation is answered as soon as the RA's responder
// has published it (within its Poll of the revocation). A published
// response is served only if the store, read in the same transaction,
// gives the certificate the same status: until the "revoked" is
// published (or while publishing it fails), a revoked certificate's
// published "good" is not served, and the request is answered OCSP
// internalError (HTTP 500, Cache-Control "max-age=0, no-cache"), as a
// Responder answers a certificate whose new answer it could not install,
// so that relying parties ask again rather than keep an answer the store
// contradicts. A published response for a serial the store holds no
// certificate of (publish never writes one: the store's records and
// certificates disagree) is answered internalError too, never served. A
// certificate with no published response (a serial never issued, or one
// issued too recently to have been published) is answered
// "unauthorized", as RFC 5019 2.2.3 directs a responder holding only
// pre-produced responses, and so is a request whose CertID is hashed
// otherwise than with SHA-1 (the published responses' CertIDs are SHA-1,
// and a response's CertID must be the request's); a request about
// another issuer also
// "unauthorized"; a malformed one "malformedRequest". It is safe for
// concurrent use.
type Published struct {
	cfg    PublishedConfig
	issuer issuerHashes
	http   http.Handler
}

// NewPublished checks cfg and returns a Published responder.
func NewPublished(cfg PublishedConfig) (*Published, error) {
	if cfg.Store == nil || cfg.Issuer == nil {
		return nil, fmt.Errorf("%w: Store and Issuer are required", ErrConfig)
	}
	if cfg.IssuerName == "" {
		cfg.IssuerName = "issuing-ca"
	}
	ih, err := newIssuerHashes(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	p := &Published{cfg: cfg, issuer: ih}
	p.http = cfocsp.NewResponder(p, nil)
	return p, nil
}

// lookup reads, in one store transaction, the published response for
// req's serial and the certificate's status: nil if there is no published
// response or req is about another issuer. A published response whose
// status is not the store's is ErrNotPublished, and one for a serial the
// store has no certificate of, or that does not decode, ErrStore: an
// error, which Handler (through cfssl's Responder) answers OCSP
// internalError.
func (p *Published) lookup(ctx context.Context, req *xocsp.Request) (*entry, error) {
	if !p.issuer.matches(req) || req.SerialNumber.Sign() <= 0 {
		return nil, nil
	}
	if req.HashAlgorithm != crypto.SHA1 {
		// The published responses' CertIDs are hashed with SHA-1, and a
		// response's CertID is the request's (RFC 6960 4.2.1): with no
		// key to sign another, there is no pre-produced response for it.
		return nil, nil
	}
	serial := req.SerialNumber.Text(16)
	var v []byte
	var c store.Certificate
	var certErr error
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if v, err = tx.GetRecord(RecordKind, serial); err != nil {
			return err
		}
		c, certErr = tx.GetCertificate(serial)
		if errors.Is(certErr, store.ErrNotFound) {
			return nil
		}
		return certErr
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	if certErr != nil {
		return nil, fmt.Errorf("%w: published response for %s has no certificate in the store", ErrStore, serial)
	}
	var pr publishedResponse
	if err := json.Unmarshal(v, &pr); err != nil || len(pr.DER) == 0 {
		return nil, fmt.Errorf("%w: published response for %s does not decode", ErrStore, serial)
	}
	if pr.Status != c.Status {
		return nil, fmt.Errorf("%w: %s is %s in the store, %s in its published response", ErrNotPublished, serial, c.Status, pr.Status)
	}
	return newEntry(pr.DER, pr.Status, pr.ThisUpdate, pr.NextUpdate), nil
}

// Response implements cfssl's ocsp.Source: the published response,
// cfocsp.ErrNotFound (answered "unauthorized") where there is none, or
// lookup's error (answered internalError) where the store does not
// confirm it.
func (p *Published) Response(req *xocsp.Request) ([]byte, http.Header, error) {
	e, err := p.lookup(context.Background(), req)
	if err != nil {
		return nil, nil, err
	}
	if e == nil {
		return nil, nil, cfocsp.ErrNotFound
	}
	return e.der, nil, nil
}

// Handler serves OCSP requests as Responder.Handler does, from the
// published responses.
func (p *Published) Handler() http.Handler { return handler(p.lookup, p.http) }

// Wrap routes /ocsp and /ocsp/... to p and everything else to next.
func (p *Published) Wrap(next http.Handler) http.Handler { return wrap(p.Handler(), next) }
