package ownpki

import (
	"crypto"
	"errors"
	"fmt"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ra/raerr"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/durable"
)

// ErrPlaintextKey: an unencrypted private key left in the data directory by
// an older smki cannot be migrated (the KMS is PKCS#11, which holds only keys
// generated inside it) or does not belong where it lies. The message says
// what the operator should do; nothing was changed.
var ErrPlaintextKey = raerr.ErrPlaintextKey

// Keys is the key backend the RA's own private keys (access CA, system
// signer) live in. *ca.KeyStore satisfies it: the RA uses the CA's, so
// these keys get exactly the CA keys' protection (softkms files encrypted
// with the CA passphrase, or a PKCS#11 token) and never a plaintext file.
type Keys interface {
	Kind() string
	CreateSigner(name string) (crypto.Signer, string, error)
	LoadSigner(ref string) (crypto.Signer, error)
	ImportSigner(name string, key crypto.PrivateKey) (crypto.Signer, string, error)
}

// ownKey is one of the RA's own keys: a reference file (what the KMS
// needs to find the key; no secret) and the unencrypted PEM file where
// older versions kept the key, which is migrated and removed.
type ownKey struct {
	name   string // KMS key name
	ref    string // path of the reference file
	plain  string // path of the legacy unencrypted PEM file
	code   error  // ErrAccessCA or ErrSigner
	advice string // what to do when a plaintext key cannot go into the KMS
}

// errNoKey: neither a reference nor a legacy plaintext file exists.
var errNoKey = fmt.Errorf("no key: %w", os.ErrNotExist)

// errKeyMismatch: the key is not the one the certificate names.
var errKeyMismatch = errors.New("key does not match the certificate")

// open returns a signer for the key whose public half is want (the
// certificate's). With a reference file it loads the key from the KMS and
// removes a leftover plaintext copy of the same key (a migration
// interrupted after the reference was written). With only the legacy
// plaintext file it migrates: the key is checked against want, imported
// into the KMS (encrypted with the passphrase), the reference written and
// synced, and then the plaintext file removed. A failure before the
// reference is written leaves the plaintext file as it was.
//
// Errors: errNoKey; errKeyMismatch (wrapped with k.code); ErrPlaintextKey
// (PKCS#11, or a plaintext file that is not the referenced key); k.code
// for the rest, wrapping the KMS's error (ca.ErrConfig on a wrong
// passphrase).
func (k ownKey) open(keys Keys, want crypto.PublicKey, log *slog.Logger) (crypto.Signer, error) {
	ref, rerr := readKeyRef(k.ref)
	plain, perr := credential.LoadKey(k.plain) // a legacy unencrypted key file: SEC 1 (the access CA's) or PKCS#8 (the system signer's)
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", k.code, rerr)
	}
	if perr != nil && !errors.Is(perr, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", k.code, perr)
	}
	switch {
	case rerr == nil:
		s, err := keys.LoadSigner(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: loading %s: %w", k.code, k.name, err)
		}
		if !samePublic(s.Public(), want) {
			return nil, fmt.Errorf("%w: %s: %w", k.code, k.name, errKeyMismatch)
		}
		if perr == nil {
			if !samePublic(plain.Public(), s.Public()) {
				return nil, fmt.Errorf("%w: %s is an unencrypted private key that is not the %s key; move it out of the data directory", ErrPlaintextKey, k.plain, k.name)
			}
			if err := durable.Remove(k.plain); err != nil {
				return nil, fmt.Errorf("%w: %v", k.code, err)
			}
			log.Warn("removed the unencrypted copy of a migrated key", "key", k.name, "file", k.plain)
		}
		return s, nil
	case perr == nil:
		if !samePublic(plain.Public(), want) {
			return nil, fmt.Errorf("%w: %s: %w", k.code, k.plain, errKeyMismatch)
		}
		return k.migrate(keys, plain, log)
	}
	return nil, errNoKey
}

// migrate moves a plaintext key into the KMS (see open).
func (k ownKey) migrate(keys Keys, plain crypto.Signer, log *slog.Logger) (crypto.Signer, error) {
	s, ref, err := keys.ImportSigner(k.name, plain)
	if errors.Is(err, ca.ErrKeyImportRefused) {
		return nil, fmt.Errorf("%w: %s is an unencrypted key and the keys are in %s, which takes only keys generated inside it: %s (%w)",
			ErrPlaintextKey, k.plain, keys.Kind(), k.advice, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: migrating %s: %w", k.code, k.plain, err)
	}
	if err := writeKeyRef(k.ref, ref); err != nil {
		return nil, fmt.Errorf("%w: %v", k.code, err)
	}
	// Removing is all that is done: overwriting first would not reach the
	// old blocks on an SSD or a copy-on-write filesystem (docs/operations.md).
	if err := durable.Remove(k.plain); err != nil {
		return nil, fmt.Errorf("%w: %v", k.code, err)
	}
	log.Info("migrated an unencrypted key into the KMS", "key", k.name, "removed", k.plain, "kms", keys.Kind())
	return s, nil
}

// create makes a new key in the KMS and records its reference, replacing
// any previous reference; a legacy plaintext file is removed first, since
// the key it holds is being replaced.
func (k ownKey) create(keys Keys) (crypto.Signer, func() error, error) {
	if err := durable.Remove(k.plain); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %v", k.code, err)
	}
	s, ref, err := keys.CreateSigner(k.name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: creating %s: %w", k.code, k.name, err)
	}
	commit := func() error {
		if err := writeKeyRef(k.ref, ref); err != nil {
			return fmt.Errorf("%w: %v", k.code, err)
		}
		return nil
	}
	return s, commit, nil
}

func samePublic(a, b crypto.PublicKey) bool {
	p, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && p.Equal(b)
}

// readKeyRef reads a reference file: one line, a KMS key reference.
func readKeyRef(path string) (string, error) {
	b, err := opfile.Read(path, opfile.MaxKey)
	if err != nil {
		return "", err
	}
	ref := strings.TrimSpace(string(b))
	if ref == "" || strings.ContainsAny(ref, "\n\r") {
		return "", fmt.Errorf("%s: not a key reference", path)
	}
	return ref, nil
}

// writeKeyRef replaces path with ref atomically and durably (temp file,
// fsync, rename, fsync of the directory), so that a crash leaves the old
// reference or the new one, never a torn one.
func writeKeyRef(path, ref string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return durable.Replace(path, []byte(ref+"\n"), 0o600)
}
