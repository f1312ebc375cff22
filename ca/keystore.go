package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"regexp"

	"go.step.sm/crypto/pemutil"
)

// KMS kinds a KeyStore reports (KeyStore.Kind).
const (
	KindSoftKMS = kindSoft
	KindPKCS11  = kindPKCS11
)

// keyName is what CreateSigner and ImportSigner accept as a key name: it
// becomes part of a file name (softkms) or a PKCS#11 object label.
var keyName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// OpenKeyStore opens the key backend cfg names (softkms with cfg.Dir and
// cfg.Passphrase, or cfg.KMS) on its own, for tools and tests that need keys
// without a CA. The caller must Close it. A process that has a CA should use
// CA.KeyStore instead: a PKCS#11 module is best initialised once per process.
func OpenKeyStore(ctx context.Context, cfg Config) (*KeyStore, error) {
	return openKeyStore(ctx, cfg)
}

// KeyStore returns the key backend the CA's own keys live in, for the
// service's other keys (the RA access CA, the RA system signer), so that
// they get exactly the CA keys' protection. It stays usable until c is
// closed; do not Close it yourself.
func (c *CA) KeyStore() *KeyStore { return c.keys }

// Kind is KindSoftKMS or KindPKCS11.
func (k *KeyStore) Kind() string { return k.kind }

// CreateSigner generates a new ECDSA P-256 key named name (lower-case
// letters, digits and '-'; it is part of the file name or token label, plus
// a random suffix) and returns a signer for it and its reference, which
// LoadSigner takes back. The reference holds no secret: store it in the
// clear. With softkms the key is written encrypted under Dir/keys/ and
// reloaded through the KMS before it is returned, so a key that could not
// be read back is never used; with PKCS#11 it is generated in the token.
// Errors: ErrConfig (bad name, key file or passphrase), ErrSigning (the KMS
// failed to generate).
func (k *KeyStore) CreateSigner(name string) (crypto.Signer, string, error) {
	if !keyName.MatchString(name) {
		return nil, "", fmt.Errorf("%w: key name %q: want [a-z][a-z0-9-]{0,39}", ErrConfig, name)
	}
	ref, s, err := k.create(name)
	if err != nil {
		return nil, "", err
	}
	return s, ref, nil
}

// LoadSigner returns a signer for a reference made by CreateSigner or
// ImportSigner. A wrong passphrase, a missing key file or a key absent from
// the token fails with ErrConfig and changes nothing.
func (k *KeyStore) LoadSigner(ref string) (crypto.Signer, error) {
	return k.signer(ref)
}

// ImportSigner puts an existing ECDSA P-256 private key into the store
// under name and returns a signer for the stored copy and its reference:
// it is how an unencrypted key left by an older smki is migrated. It only
// writes the new encrypted file; removing the old plaintext is the
// caller's, once it has recorded the reference.
//
// softkms writes the key encrypted with the passphrase (and reloads it, as
// CreateSigner does). PKCS#11 refuses with ErrKeyImportRefused: a token
// holds only keys generated inside it, because a key that once lay in a
// file may have been copied and no token can vouch otherwise. Any other key
// type fails with ErrConfig.
func (k *KeyStore) ImportSigner(name string, key crypto.PrivateKey) (crypto.Signer, string, error) {
	if !keyName.MatchString(name) {
		return nil, "", fmt.Errorf("%w: key name %q: want [a-z][a-z0-9-]{0,39}", ErrConfig, name)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, "", fmt.Errorf("%w: key %s: only ECDSA P-256 keys are imported, got %T", ErrConfig, name, key)
	}
	if k.kind != kindSoft {
		return nil, "", fmt.Errorf("%w: key %s: the KMS is %s, which holds only keys generated inside it", ErrKeyImportRefused, name, k.kind)
	}
	suffix, err := randomSuffix()
	if err != nil {
		return nil, "", err
	}
	ref := filepath.Join("keys", name+"-"+suffix+".key")
	block, err := pemutil.Serialize(ec, pemutil.WithPKCS8(true), pemutil.WithPassword(k.pass))
	if err != nil {
		return nil, "", fmt.Errorf("%w: encrypting %s key: %v", ErrSigning, name, err)
	}
	if err := writeExclusive(filepath.Join(k.dir, ref), pem.EncodeToMemory(block)); err != nil {
		return nil, "", err
	}
	s, err := k.signer(ref)
	if err != nil {
		return nil, "", err
	}
	if !ec.PublicKey.Equal(s.Public()) {
		return nil, "", fmt.Errorf("%w: imported %s key reads back as another key", ErrConfig, name)
	}
	return s, ref, nil
}

// Close releases the KMS of a KeyStore from OpenKeyStore. (The CA's own,
// from CA.KeyStore, is closed by CA.Close.)
func (k *KeyStore) Close() error { return k.close() }
