package ra

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/verifier"
)

// ErrSigner is the code of every failure of the RA's system signer.
var ErrSigner = errors.New("E_RA_SIGNER")

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
	systemKeyFile  = "system-signer.key.pem"
	systemCertFile = "system-signer.pem"
)

// OpenSystemSigner loads the signer from dir, or creates it on first use:
// a fresh P-256 key (PEM, mode 0600) certified by issuer as id. A
// certificate that no longer chains to issuer's current issuing CA, or
// expires within 30 days of now, is replaced with a new key.
func OpenSystemSigner(ctx context.Context, dir string, issuer SystemIssuer, id eui64.ID, now time.Time) (*SystemSigner, error) {
	kp, cp := filepath.Join(dir, systemKeyFile), filepath.Join(dir, systemCertFile)
	if s, err := loadSystemSigner(kp, cp, issuer.Issuing(), now); err == nil {
		return s, nil
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errStaleSigner) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
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
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	// Key first, then certificate: a crash between leaves no certificate
	// without its key, and the next start replaces both.
	if err := writeAtomic(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(cp, pemCert(cert.Raw), 0o644); err != nil {
		return nil, err
	}
	return &SystemSigner{key: key, chain: []*x509.Certificate{cert, issuer.Issuing()}}, nil
}

var errStaleSigner = errors.New("system signer certificate is stale")

func loadSystemSigner(kp, cp string, issuing *x509.Certificate, now time.Time) (*SystemSigner, error) {
	keyPEM, err := os.ReadFile(kp)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(cp)
	if err != nil {
		return nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, fmt.Errorf("%w: %s or %s is not PEM", ErrSigner, kp, cp)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSigner, kp, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an ECDSA key", ErrSigner, kp)
	}
	cert, err := dccx509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSigner, cp, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: key and certificate do not match", errStaleSigner)
	}
	if cert.CheckSignatureFrom(issuing) != nil || now.Add(30*24*time.Hour).After(cert.NotAfter) {
		return nil, errStaleSigner
	}
	return &SystemSigner{key: key, chain: []*x509.Certificate{cert, issuing}}, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("%w: %v", ErrSigner, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: %v", ErrSigner, err)
	}
	return nil
}

// Chain returns the signer's certificate and the issuing CA.
func (s *SystemSigner) Chain() []*x509.Certificate { return s.chain }

// SignBundle seals b in the signed bundle envelope.
func (s *SystemSigner) SignBundle(b *verifier.Bundle) ([]byte, error) {
	return verifier.SignBundle(b, s.key, s.chain)
}

// SignFeedPage seals p in the signed feed envelope.
func (s *SystemSigner) SignFeedPage(p *verifier.FeedPage) ([]byte, error) {
	return verifier.SignFeedPage(p, s.key, s.chain)
}
