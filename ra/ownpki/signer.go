package ownpki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/smki/smki/ra/raerr"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/smki/smki/bundle"

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
	key   crypto.Signer
	chain []*x509.Certificate // signer, issuing CA
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
// of now, is replaced with a new key. log (nil = discard) records a
// migration.
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
		return s, nil
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errStaleSigner) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	key, commit, err := k.create(keys)
	if err != nil {
		return nil, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	cert, err := issuer.IssueSystem(ctx, csr, id, "smki-ra-system-signer")
	if err != nil {
		return nil, fmt.Errorf("%w: issuing the system signer: %w", ErrSigner, err)
	}
	// Reference first, then certificate: a crash between leaves a
	// certificate that does not match the key, and the next start
	// replaces both.
	if err := commit(); err != nil {
		return nil, err
	}
	if err := writeAtomic(cp, pemCert(cert.Raw), 0o644); err != nil {
		return nil, err
	}
	return &SystemSigner{key: key, chain: []*x509.Certificate{cert, issuer.Issuing()}}, nil
}

var errStaleSigner = errors.New("system signer certificate is stale")

// loadSystemSigner returns the signer in dir; an error wrapping
// os.ErrNotExist or errStaleSigner means "make a new one". A stale
// certificate is detected before the key is touched, so a key about to be
// replaced is neither loaded nor migrated.
func loadSystemSigner(k ownKey, cp string, keys Keys, issuing *x509.Certificate, now time.Time, log *slog.Logger) (*SystemSigner, error) {
	certPEM, err := os.ReadFile(cp)
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
	if cert.CheckSignatureFrom(issuing) != nil || now.Add(30*24*time.Hour).After(cert.NotAfter) {
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
func (s *SystemSigner) Chain() []*x509.Certificate { return s.chain }

// SignBundle seals b in the signed bundle envelope.
func (s *SystemSigner) SignBundle(b *bundle.Bundle) ([]byte, error) {
	return bundle.Sign(b, s.key, s.chain)
}

// SignFeedPage seals p in the signed feed envelope.
func (s *SystemSigner) SignFeedPage(p *bundle.FeedPage) ([]byte, error) {
	return bundle.SignFeedPage(p, s.key, s.chain)
}
