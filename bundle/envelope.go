package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/ecdsaraw"
	"github.com/smki/smki/internal/strictjson"
	"github.com/smki/smki/role"
)

// Envelope formats. The format names the payload type, so a feed page can
// never be opened as a bundle or the other way round.
const (
	BundleFormat = "smki-bundle/1"
	FeedFormat   = "smki-feed/1"
)

// Size caps of the signed envelopes, checked before any parsing.
const (
	MaxBundleSize = 256 << 20
	MaxFeedSize   = 16 << 20
)

// envelope is the signed wrapper of a bundle or feed page: the exact payload
// bytes, a raw r||s ECDSA P-256 SHA-256 signature over them, and the
// signer's chain (signer first). []byte fields are standard base64 in JSON.
type envelope struct {
	Format    string   `json:"format"`
	Payload   []byte   `json:"payload"`
	Signature []byte   `json:"signature"`
	Chain     [][]byte `json:"chain"`
}

// Sign validates b, marshals it and signs it with signer, whose
// certificate is chain[0] (followed by its issuing CA). signer must be an
// ECDSA P-256 key; the certificate must be a dSPXmlSign (OU=89) certificate
// with digitalSignature, which Open enforces.
func Sign(b *Bundle, signer crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal bundle: %v", ErrBundleInvalid, err)
	}
	return seal(BundleFormat, payload, signer, chain)
}

// Open checks the envelope (size cap, format, signer chain to roots at
// now, digitalSignature, OU=89, signature over the payload) and decodes the
// payload strictly (unknown fields refused), then validates it. now is used
// for the signer's validity; the bundle's age is judged by the Verifier.
// The signer's certificate is returned in Bundle.Signer: whether it is
// revoked is for the caller that holds revocation data (the Verifier
// refuses a bundle whose signer is revoked by its CRLs, its feed or the
// bundle itself, ErrSignerRevoked).
func Open(data []byte, roots *x509.CertPool, now time.Time) (*Bundle, error) {
	payload, signer, err := open(data, BundleFormat, MaxBundleSize, roots, now)
	if err != nil {
		return nil, err
	}
	var b Bundle
	if err := strictjson.Decode(payload, &b); err != nil {
		return nil, fmt.Errorf("%w: bundle payload: %v", ErrEnvelopeFormat, err)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	b.Signer = signer
	return &b, nil
}

// seal signs payload and wraps it in an envelope of format.
func seal(format string, payload []byte, signer crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: no signer certificate", ErrEnvelopeSigner)
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: signer is not an ECDSA P-256 key", ErrEnvelopeSigner)
	}
	if !pub.Equal(chain[0].PublicKey) {
		return nil, fmt.Errorf("%w: key does not match chain[0]", ErrEnvelopeSigner)
	}
	digest := sha256.Sum256(payload)
	raw, err := ecdsaraw.SignSHA256(signer, digest[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelopeSignature, err)
	}
	env := envelope{Format: format, Payload: payload, Signature: raw}
	for _, c := range chain {
		env.Chain = append(env.Chain, c.Raw)
	}
	return json.Marshal(env)
}

// open checks an envelope and returns its payload bytes and the signer's
// certificate (whose revocation is the verifier's to judge: it holds the
// CRLs and the feed).
func open(data []byte, format string, limit int, roots *x509.CertPool, now time.Time) ([]byte, *x509.Certificate, error) {
	if len(data) > limit {
		return nil, nil, fmt.Errorf("%w: %d bytes, cap %d", ErrEnvelopeTooLarge, len(data), limit)
	}
	if roots == nil {
		return nil, nil, fmt.Errorf("%w: no trusted roots", ErrEnvelopeSigner)
	}
	var env envelope
	if err := strictjson.Decode(data, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrEnvelopeFormat, err)
	}
	if env.Format != format {
		return nil, nil, fmt.Errorf("%w: format %q, want %q", ErrEnvelopeFormat, env.Format, format)
	}
	if len(env.Chain) == 0 || len(env.Signature) != 64 || len(env.Payload) == 0 {
		return nil, nil, fmt.Errorf("%w: chain, 64-byte signature and payload are required", ErrEnvelopeFormat)
	}
	signer, err := dccx509.ParseCertificate(env.Chain[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: chain[0] is not a DER X.509 certificate", ErrEnvelopeSigner)
	}
	inter := x509.NewCertPool()
	for i, der := range env.Chain[1:] {
		c, err := dccx509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: chain[%d] is not a DER X.509 certificate", ErrEnvelopeSigner, i+1)
		}
		inter.AddCert(c)
	}
	if err := checkEnvelopeSigner(signer, inter, roots, now); err != nil {
		return nil, nil, err
	}
	pub := signer.PublicKey.(*ecdsa.PublicKey) // checked by checkEnvelopeSigner
	digest := sha256.Sum256(env.Payload)
	r := new(big.Int).SetBytes(env.Signature[:32])
	s := new(big.Int).SetBytes(env.Signature[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return nil, nil, fmt.Errorf("%w: signature over %s payload does not verify", ErrEnvelopeSignature, format)
	}
	return env.Payload, signer, nil
}

// checkEnvelopeSigner: chains to roots at now, P-256 key, digitalSignature,
// OU=89 (dSPXmlSign, the RA/DCC's own signing role).
// chainRefusal says in smki's words why the signer c does not verify
// (err from x509.Certificate.Verify at now), never crypto/x509's text.
func chainRefusal(c *x509.Certificate, err error, now time.Time) string {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		return fmt.Sprintf("a certificate of the signer's chain is not valid at %s (the signer's: %s to %s)",
			now.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return "the signer does not chain to a trusted SMKI root through the envelope's chain; " +
		"check that the trust directory holds the root that issued it"
}

func checkEnvelopeSigner(c *x509.Certificate, inter, roots *x509.CertPool, now time.Time) error {
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("%w: %s", ErrEnvelopeSigner, chainRefusal(c, err, now))
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: signer key is not ECDSA P-256", ErrEnvelopeSigner)
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: signer lacks digitalSignature", ErrEnvelopeSigner)
	}
	if len(c.Subject.OrganizationalUnit) != 1 || c.Subject.OrganizationalUnit[0] != role.RPDSPXMLSign.OU() {
		return fmt.Errorf("%w: signer OU %v, want %s (dSPXmlSign)", ErrEnvelopeSigner,
			c.Subject.OrganizationalUnit, role.RPDSPXMLSign.OU())
	}
	return nil
}
