package ownpki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ra/raerr"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca/caerr"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/durable"
)

// ErrSigner is the code of every failure of the RA's system signer.
var ErrSigner = raerr.ErrSigner

// DefaultSystemID is the Entity ID of the RA's own signing certificate, as
// DCC's own response signer (dSPXmlSign) uses in DCC's test material.
var DefaultSystemID = eui64.MustParse("90-B3-D5-1F-30-00-00-02")

// SystemIssuer issues the RA's own OU=89 certificate; *ca.CA satisfies it.
type SystemIssuer interface {
	IssueSystem(ctx context.Context, csr *x509.CertificateRequest, id eui64.ID, commonName string) (*x509.Certificate, error)
	Issuing() *x509.Certificate
}

// SystemSigner signs what the RA publishes to verifiers (the policy bundle
// and the revocation feed) with the RA's dSPXmlSign (OU=89) key. Verifiers
// accept those documents only from a certificate with that OU chaining to
// the SMKI root, so no user certificate can ever sign policy.
type SystemSigner struct {
	mu    sync.RWMutex
	key   crypto.Signer
	chain []*x509.Certificate // signer, issuing CA

	// What Rotate needs to make the next signer: OpenSystemSigner's
	// arguments. rotating serialises Rotate calls.
	rotating sync.Mutex
	dir      string
	keys     Keys
	issuer   SystemIssuer
	id       eui64.ID
}

const (
	systemCertFile = "system-signer.pem"
	systemKeyRef   = "system-signer.key.ref" // the KMS reference of the key
	systemKeyName  = "ra-system-signer"      // its name in the KMS
	// systemPlainKey is where smki before the KMS kept the key,
	// unencrypted; OpenSystemSigner migrates it and removes it.
	systemPlainKey = "system-signer.key.pem"
)

func systemOwnKey(dir string) ownKey {
	return ownKey{
		name:  systemKeyName,
		ref:   filepath.Join(dir, systemKeyRef),
		plain: filepath.Join(dir, systemPlainKey),
		code:  ErrSigner,
		advice: "remove " + filepath.Join(dir, systemPlainKey) + " and " + filepath.Join(dir, systemCertFile) +
			"; the next start creates a new system signer in the token (harmless: verifiers accept any OU=89 signer chaining to the root)",
	}
}

// OpenSystemSigner loads the signer from dir, or creates it on first use:
// a fresh P-256 key in keys (the CA's key backend), certified by issuer as
// id; dir holds the certificate and the key's reference. A certificate that
// no longer chains to issuer's current issuing CA, or expires within 30 days
// of now, is replaced with a new key, unless the Issuing OCA has expired
// (ErrCAExpired): then the current one is kept, logged as an error, so
// that the server still starts and serves revocation. log (nil =
// discard) records a migration and that.
//
// A directory written by an older smki holds the key unencrypted
// (system-signer.key.pem): with softkms it is imported (encrypted with the
// CA passphrase), its reference written and the plaintext file removed;
// with PKCS#11 it is refused with ErrPlaintextKey (unless its certificate is
// stale anyway: then the file is removed and a key made in the token). A key
// that fails to load (wrong passphrase, missing from the token) fails with
// ErrSigner and changes nothing.
func OpenSystemSigner(ctx context.Context, dir string, keys Keys, issuer SystemIssuer, id eui64.ID, now time.Time, log *slog.Logger) (*SystemSigner, error) {
	if keys == nil || issuer == nil {
		return nil, fmt.Errorf("%w: nil key store or issuer", ErrSigner)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k, cp := systemOwnKey(dir), filepath.Join(dir, systemCertFile)
	if s, err := loadSystemSigner(k, cp, keys, issuer.Issuing(), now, log); err == nil {
		s.dir, s.keys, s.issuer, s.id = dir, keys, issuer, id
		return s, nil
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errStaleSigner) {
		return nil, err
	}
	s := &SystemSigner{dir: dir, keys: keys, issuer: issuer, id: id}
	if err := s.create(ctx); err != nil {
		// The Issuing OCA has expired: no signer can be certified any
		// more. Keep the one there is (expired with the Issuing OCA, or
		// about to), so that the server still starts and serves
		// revocation; what it signs, verifiers judge by their own clock.
		if errors.Is(err, caerr.ErrCAExpired) {
			if old, lerr := loadSystemSigner(k, cp, keys, issuer.Issuing(), time.Time{}, log); lerr == nil {
				log.Error("RA system signer not replaced: the Issuing OCA has expired, so the current one (expired or expiring with it) keeps signing; bring a new Issuing OCA into service",
					"not_after", old.chain[0].NotAfter)
				old.dir, old.keys, old.issuer, old.id = dir, keys, issuer, id
				return old, nil
			}
		}
		return nil, err
	}
	return s, nil
}

// create makes a new key in the KMS, has issuer certify it, writes the key
// reference and the certificate to dir, and makes it the signer.
func (s *SystemSigner) create(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrSigner, err)
	}
	key, commit, err := systemOwnKey(s.dir).create(s.keys)
	if err != nil {
		return err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSigner, err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSigner, err)
	}
	cert, err := s.issuer.IssueSystem(ctx, csr, s.id, "smki-ra-system-signer")
	if err != nil {
		return fmt.Errorf("%w: issuing the system signer: %w", ErrSigner, err)
	}
	// Reference first, then certificate: a crash between leaves a
	// certificate that does not match the key, and the next start
	// replaces both.
	if err := commit(); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(s.dir, systemCertFile), pemCert(cert.Raw), 0o644); err != nil {
		return err
	}
	s.mu.Lock()
	s.key, s.chain = key, []*x509.Certificate{cert, s.issuer.Issuing()}
	s.mu.Unlock()
	return nil
}

// Rotate replaces the signer with a new key and OU=89 certificate, made
// and stored as on first use, and returns the certificate it retires.
// Everything signed after Rotate returns carries the new signer, and so
// does every later start. The retired certificate is not revoked here:
// the RA revokes it by its own four-eyes procedure
// (ra.ApproveSignerRevocation), whose revocation verifiers then receive
// signed by the new signer, with no gap (docs/bundle.md, "Signer
// rotation"). On failure the current signer stays.
func (s *SystemSigner) Rotate(ctx context.Context) (*x509.Certificate, error) {
	if s.issuer == nil || s.keys == nil {
		return nil, fmt.Errorf("%w: this signer was not opened with OpenSystemSigner and cannot rotate", ErrSigner)
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	old := s.Chain()[0]
	if err := s.create(ctx); err != nil {
		return nil, err
	}
	return old, nil
}

var errStaleSigner = errors.New("system signer certificate is stale")

// loadSystemSigner returns the signer in dir; an error wrapping
// os.ErrNotExist or errStaleSigner means "make a new one". A stale
// certificate is detected before the key is touched, so a key about to be
// replaced is neither loaded nor migrated. A zero now takes the
// certificate whatever its validity (OpenSystemSigner, once the Issuing
// OCA has expired).
func loadSystemSigner(k ownKey, cp string, keys Keys, issuing *x509.Certificate, now time.Time, log *slog.Logger) (*SystemSigner, error) {
	certPEM, err := opfile.Read(cp, opfile.MaxCertificate)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, fmt.Errorf("%w: %s is not PEM", ErrSigner, cp)
	}
	cert, err := dccx509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSigner, cp, err)
	}
	if cert.CheckSignatureFrom(issuing) != nil || !now.IsZero() && now.Add(30*24*time.Hour).After(cert.NotAfter) {
		return nil, errStaleSigner
	}
	key, err := k.open(keys, cert.PublicKey, log)
	if errors.Is(err, errKeyMismatch) {
		return nil, fmt.Errorf("%w: %w", errStaleSigner, err)
	}
	if err != nil {
		return nil, err
	}
	return &SystemSigner{key: key, chain: []*x509.Certificate{cert, issuing}}, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := durable.Replace(path, data, mode); err != nil {
		return fmt.Errorf("%w: %v", ErrSigner, err)
	}
	return nil
}

// Chain returns the signer's certificate and the issuing CA.
func (s *SystemSigner) Chain() []*x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.chain
}

// current returns the key and chain signing now.
func (s *SystemSigner) current() (crypto.Signer, []*x509.Certificate) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.key, s.chain
}

// SignBundle seals b in the signed bundle envelope.
func (s *SystemSigner) SignBundle(b *bundle.Bundle) ([]byte, error) {
	key, chain := s.current()
	return bundle.Sign(b, key, chain)
}

// SignFeedPage seals p in the signed feed envelope.
func (s *SystemSigner) SignFeedPage(p *bundle.FeedPage) ([]byte, error) {
	key, chain := s.current()
	return bundle.SignFeedPage(p, key, chain)
}
