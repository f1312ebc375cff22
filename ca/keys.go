package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/smki/smki/internal/durable"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/miekg/pkcs11"
	"go.step.sm/crypto/kms"
	kmsapi "go.step.sm/crypto/kms/apiv1"
	_ "go.step.sm/crypto/kms/pkcs11" // registers the pkcs11: KMS (cgo)
	"go.step.sm/crypto/kms/softkms"
	kmsuri "go.step.sm/crypto/kms/uri"
	"go.step.sm/crypto/pemutil"
)

// KMS kinds recorded in the CA state, so Open refuses a Config whose KMS is
// not the one the keys were created in.
const (
	kindSoft   = "softkms"
	kindPKCS11 = "pkcs11"
)

// KeyStore is where smki's private keys live: a go.step.sm/crypto
// KeyManager plus what smki needs on top of it — create a P-256 key by name,
// get a signer for it by reference, and (softkms only) take in an existing
// key. The CA keeps its keys in one; the RA keeps its access CA and system
// signer keys in the same one (CA.KeyStore), so no private key of the
// service is ever written unencrypted.
//
// softkms keys are encrypted PKCS#8 PEM files (AES-256-CBC, key from the
// passphrase by PBKDF2) under Dir/keys/, referenced by a path relative to
// Dir; PKCS#11 keys never leave the token and are referenced by a pkcs11:
// URI (id and object label, both random per key so repeated creations never
// collide). References hold no secret and no PIN.
type KeyStore struct {
	kind string
	dir  string
	pass []byte
	uri  string           // the pkcs11: URI, to reopen the module (tokensigner.go)
	now  func() time.Time // Config.Clock, for reopenEvery

	// objects (PKCS#11 only) is held by whatever changes or searches the
	// token's objects, or the module itself: generating a key (create),
	// finding one (signer, refind), deleting one (discard), closing and
	// reopening the module (refind, close). One at a time on a token:
	// SoftHSM2 2.6.1 (Debian 12's; SoftHSMv2 issue 573, fixed in 2.7.0)
	// fails a key generation run beside another generation or a search
	// with CKR_GENERAL_ERROR or CKR_TEMPLATE_INCONSISTENT, and a key
	// generated in a module that refind closes meanwhile fails with a
	// closed context (TestPKCS11KeyStoreUnderConcurrentUse). Signatures do
	// not take it: they run side by side in crypto11's session pool, and
	// crypto11 closes the module only once they are done. Taken before mu.
	objects sync.Mutex

	mu       sync.Mutex
	km       kms.KeyManager // nil: closed, or a reopen failed (PKCS#11)
	gen      uint64         // how often km was reopened
	reopened time.Time      // the last reopen attempt
	closed   bool

	// PKCS#11 only (tokensigner.go): how long a signature waits for the
	// token, and one place per signature in flight (maxSigning).
	signWait time.Duration
	signing  chan struct{}
}

func openKeyStore(ctx context.Context, cfg Config) (*KeyStore, error) {
	if cfg.KMS == "" {
		if len(cfg.Passphrase) == 0 {
			return nil, fmt.Errorf("%w: softkms needs a passphrase to encrypt the CA keys", ErrConfig)
		}
		if cfg.Dir == "" {
			return nil, fmt.Errorf("%w: softkms needs a data directory", ErrConfig)
		}
		km, err := softkms.New(ctx, kmsapi.Options{Type: kmsapi.SoftKMS})
		if err != nil {
			return nil, fmt.Errorf("%w: softkms: %v", ErrConfig, err)
		}
		return &KeyStore{km: km, kind: kindSoft, dir: cfg.Dir, pass: cfg.Passphrase}, nil
	}
	if !strings.HasPrefix(cfg.KMS, kindPKCS11+":") {
		return nil, fmt.Errorf("%w: KMS %q: only softkms (empty) and pkcs11: URIs are supported", ErrConfig, redactURI(cfg.KMS))
	}
	km, err := openPKCS11(ctx, cfg.KMS)
	if err != nil {
		return nil, err
	}
	return &KeyStore{km: km, kind: kindPKCS11, uri: cfg.KMS, now: cfg.clock(),
		signWait: signWait, signing: make(chan struct{}, maxSigning)}, nil
}

// openPKCS11 opens the PKCS#11 KMS uri names, or says what to fix: a
// module that is not there, a pin-source that gives no PIN (checked
// before the KMS logs in, which it would do with an empty PIN: one more
// wrong PIN counted against the token), a PIN the token refuses
// (ErrKMSPIN), a token the module does not have.
func openPKCS11(ctx context.Context, rawURI string) (kms.KeyManager, error) {
	name := redactURI(rawURI)
	u, err := kmsuri.ParseWithScheme(kindPKCS11, rawURI)
	if err != nil {
		return nil, fmt.Errorf("%w: KMS %s does not parse as a pkcs11: URI; the form is pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=LABEL?pin-source=/etc/smki/pin", ErrConfig, name)
	}
	module := u.Get("module-path")
	if strings.Contains(module, "/") {
		if _, err := os.Stat(module); err != nil {
			return nil, fmt.Errorf("%w: KMS %s: the PKCS#11 module %s cannot be loaded (%s); check module-path: the library your HSM's vendor installs (SoftHSM2: %s)",
				ErrConfig, name, module, fileReason(err), "/usr/lib/softhsm/libsofthsm2.so")
		}
	}
	if src := u.Get("pin-source"); src != "" && u.Get("pin-value") == "" {
		b, err := u.Read("pin-source")
		if err != nil {
			return nil, fmt.Errorf("%w: KMS %s: pin-source %s cannot be read (%s); make it a file holding the token's user PIN that smki's user may read (e.g. owner root, group smki, mode 0640); no login was tried",
				ErrKMSPIN, name, src, fileReason(err))
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			return nil, fmt.Errorf("%w: KMS %s: pin-source %s is empty; write the token's user PIN into it; no login was tried", ErrKMSPIN, name, src)
		}
	}
	km, err := kms.New(ctx, kmsapi.Options{Type: kmsapi.PKCS11, URI: rawURI})
	if err == nil {
		return km, nil
	}
	var rv pkcs11.Error
	if errors.As(err, &rv) {
		switch rv {
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
			return nil, fmt.Errorf("%w: KMS %s: the token refused the PIN; put the token's user PIN in pin-source and start again only then: after a few wrong PINs a token locks it", ErrKMSPIN, name)
		case pkcs11.CKR_PIN_LOCKED:
			return nil, fmt.Errorf("%w: KMS %s: the token's user PIN is locked (too many wrong PINs); its security officer must unlock or reset it (softhsm2-util or the HSM vendor's tool) before smki can start", ErrKMSPIN, name)
		case pkcs11.CKR_PIN_EXPIRED:
			return nil, fmt.Errorf("%w: KMS %s: the token's user PIN has expired; set a new one with the HSM vendor's tool and put it in pin-source", ErrKMSPIN, name)
		}
	}
	return nil, fmt.Errorf("%w: KMS %s cannot be opened (%v); check that token= (or serial=, slot-id=) names a token the module has: list them with pkcs11-tool --module MODULE --list-token-slots (SoftHSM2: softhsm2-util --show-slots)",
		ErrConfig, name, err)
}

// fileReason is why a file could not be read, in smki's words.
func fileReason(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied to smki's user"
	}
	return "it cannot be read"
}

// redactURI hides the PIN of a KMS URI before it is logged or put in an
// error: it drops the query (?pin-value=, pin-source=) and replaces the
// value of a pin-value path attribute (RFC 7512 allows it there too, in
// any letter case), so no form of the URI shows a PIN.
func redactURI(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i] + "?…"
	}
	scheme, path, ok := strings.Cut(u, ":")
	if !ok {
		return u
	}
	attrs := strings.Split(path, ";")
	for i, a := range attrs {
		name, _, hasValue := strings.Cut(a, "=")
		if hasValue && strings.EqualFold(strings.TrimSpace(name), "pin-value") {
			attrs[i] = name + "=xxxxx"
		}
	}
	return scheme + ":" + strings.Join(attrs, ";")
}

// create makes a new P-256 key named after label and returns its reference
// and a signer.
func (k *KeyStore) create(label string) (string, crypto.Signer, error) {
	suffix, err := randomSuffix()
	if err != nil {
		return "", nil, err
	}
	switch k.kind {
	case kindSoft:
		ref := filepath.Join("keys", label+"-"+suffix+".key")
		resp, err := k.km.CreateKey(&kmsapi.CreateKeyRequest{Name: ref, SignatureAlgorithm: kmsapi.ECDSAWithSHA256})
		if err != nil {
			return "", nil, fmt.Errorf("%w: creating %s key: %v", ErrSigning, label, err)
		}
		block, err := pemutil.Serialize(resp.PrivateKey, pemutil.WithPKCS8(true), pemutil.WithPassword(k.pass))
		if err != nil {
			return "", nil, fmt.Errorf("%w: encrypting %s key: %v", ErrSigning, label, err)
		}
		if err := writeExclusive(filepath.Join(k.dir, ref), pem.EncodeToMemory(block)); err != nil {
			return "", nil, err
		}
		// Reload through the KMS: proves the file and passphrase work
		// before anything is signed with the key.
		s, err := k.signer(ref)
		return ref, s, err
	default:
		ref := fmt.Sprintf("pkcs11:id=%s;object=smki-%s-%s", suffix, label, suffix)
		k.objects.Lock()
		defer k.objects.Unlock()
		km, _, err := k.manager()
		if err != nil {
			return "", nil, fmt.Errorf("%w: creating %s key in the token: %v", ErrSigning, label, err)
		}
		if _, err := km.CreateKey(&kmsapi.CreateKeyRequest{Name: ref, SignatureAlgorithm: kmsapi.ECDSAWithSHA256}); err != nil {
			return "", nil, fmt.Errorf("%w: creating %s key in the token: %v", ErrSigning, label, err)
		}
		s, err := k.tokenSigner(ref)
		return ref, s, err
	}
}

// randomSuffix makes key file names and token labels unique per key.
func randomSuffix() (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("%w: %v", ErrSigning, err)
	}
	return hex.EncodeToString(rnd[:]), nil
}

// signer returns a signer for a key reference made by create. A PKCS#11
// key's survives the token going away and coming back (tokenSigner).
func (k *KeyStore) signer(ref string) (crypto.Signer, error) {
	if k.kind == kindPKCS11 {
		k.objects.Lock()
		defer k.objects.Unlock()
		return k.tokenSigner(ref)
	}
	path := filepath.Join(k.dir, ref)
	if err := checkKeyFileMode(path); err != nil {
		return nil, err
	}
	km, _, err := k.manager()
	if err != nil {
		return nil, fmt.Errorf("%w: loading key %s: %v", ErrConfig, ref, err)
	}
	s, err := km.CreateSigner(&kmsapi.CreateSignerRequest{SigningKey: path, Password: k.pass})
	if err != nil {
		return nil, k.loadError(ref, err)
	}
	return s, nil
}

// tokenSigner is signer for a PKCS#11 key; the caller holds k.objects.
func (k *KeyStore) tokenSigner(ref string) (crypto.Signer, error) {
	km, gen, err := k.manager()
	if err != nil {
		return nil, fmt.Errorf("%w: loading key %s: %v", ErrConfig, ref, err)
	}
	s, err := km.CreateSigner(&kmsapi.CreateSignerRequest{SigningKey: ref})
	if err != nil {
		return nil, k.loadError(ref, err)
	}
	return newTokenSigner(k, ref, s, gen)
}

// checkKeyFileMode refuses a softkms key file that users other than its
// owner may read or write (any group or other permission bit), with
// ErrKeyFileMode and the chmod to run. The key is encrypted, but a copy
// can be attacked offline for as long as the passphrase lasts; like ssh
// with a private key, smki will not use one others can read. smki writes
// its key files 0600 (writeExclusive); a wider mode comes from outside
// (a copy restored with the umask, a chmod). A file that cannot be
// stat'ed is left to the load that follows, which says why.
func checkKeyFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%w: key file %s has mode %04o: users other than its owner may read or change this private key, so it is not used; run chmod 600 %s (and chmod 700 %s) as its owner, consider who may have copied it, and start again",
			ErrKeyFileMode, path, m, path, filepath.Dir(path))
	}
	return nil
}

// loadError says why the key ref could not be loaded (err, from the KMS)
// and what to do.
func (k *KeyStore) loadError(ref string, err error) error {
	if k.kind == kindPKCS11 {
		return fmt.Errorf("%w: key %s is not in the token (%v): open the token the CA's keys were generated in (or a clone of it); the KMS URI names another, or the key was deleted", ErrConfig, ref, err)
	}
	path := filepath.Join(k.dir, ref)
	if _, serr := os.Stat(path); serr != nil {
		return fmt.Errorf("%w: key file %s cannot be read (%s): restore DATA/keys from the backup taken with the store, or give the data directory the CA was created in", ErrConfig, path, fileReason(serr))
	}
	if errors.Is(err, x509.IncorrectPasswordError) {
		return fmt.Errorf("%w: key file %s does not open with this passphrase: give the passphrase the CA was created with (passphrase_file)", ErrConfig, path)
	}
	return fmt.Errorf("%w: key file %s is not a key smki wrote (%v); it is damaged (cut short, overwritten): restore it from the backup", ErrConfig, path, err)
}

// manager returns the KMS and its generation.
func (k *KeyStore) manager() (kms.KeyManager, uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, k.gen, errKMSClosed
	}
	if k.km == nil {
		return nil, k.gen, errTokenAway
	}
	return k.km, k.gen, nil
}

func (k *KeyStore) close() error {
	k.objects.Lock()
	defer k.objects.Unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.km == nil {
		return nil
	}
	km := k.km
	k.km = nil
	return km.Close()
}

// keysDir is where softkms keeps the key files.
func (k *KeyStore) keysDir() string { return filepath.Join(k.dir, "keys") }

// exists reports whether path is there (or cannot be told: only a path
// known to be absent is reported absent).
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// discard removes keys (references from create) that no CA ever
// recorded, for Init failing before its transaction: their files
// (softkms), and keysDir too if dirMade (it was made for them and is
// empty again), or the keys in the token (PKCS#11). It is best effort: a
// key it cannot remove stays behind, unused. Never call it for a key a
// transaction that may have committed refers to.
func (k *KeyStore) discard(refs []string, dirMade bool) {
	for _, ref := range refs {
		if k.kind == kindSoft {
			_ = os.Remove(filepath.Join(k.dir, ref))
			continue
		}
		k.objects.Lock()
		if km, _, err := k.manager(); err == nil {
			if d, ok := km.(interface{ DeleteKey(string) error }); ok {
				_ = d.DeleteKey(ref)
			}
		}
		k.objects.Unlock()
	}
	if dirMade {
		_ = os.Remove(k.keysDir()) // fails, and keeps it, unless empty
	}
}

// writeExclusive creates path (and its 0700 directory) with mode 0600 and
// fails if it exists: a CA key is never overwritten. It is written by
// durable.WriteNew: synced, file and directory, before it returns (so a
// key the store then names survives a crash), and removed if writing
// fails (a half-written key is never left to block the next try).
func writeExclusive(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("%w: key directory %s: %s", ErrConfig, filepath.Dir(path), durable.Reason(err))
	}
	if err := durable.WriteNew(path, data, 0o600); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: key file %s exists", ErrConfig, path)
		}
		return fmt.Errorf("%w: key file %s: %s", ErrConfig, path, durable.Reason(err))
	}
	return nil
}
