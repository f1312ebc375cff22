package ca

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	kmsapi "go.step.sm/crypto/kms/apiv1"
)

// reopenEvery is the least time between two reopens of the PKCS#11
// module while signatures keep failing: a token that stays away costs a
// reopen (initialise, find the token, log in) a second, not one per
// signature.
const reopenEvery = time.Second

// errKMSClosed: the KeyStore was closed. errTokenAway: its PKCS#11 module
// could not be reopened since the token went away.
var (
	errKMSClosed = errors.New("the key store is closed")
	errTokenAway = errors.New("the token is away (it is looked for again each second)")
)

// tokenSigner is a PKCS#11 key's signer that survives the token going
// away and coming back (an HSM rebooted or failed over, its network
// lost). crypto11 keeps the key's object handle and a pool of sessions
// for good: once they are stale every signature fails
// (CKR_OBJECT_HANDLE_INVALID, CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED)
// until the process restarts, and nothing restarts a process that only
// reports itself not ready. So a failed signature reopens the module (at
// most once per reopenEvery, and once for all the KeyStore's signers),
// finds the key again by its reference, and signs once more; a key found
// under the reference that is not the one loaded (another public key) is
// refused, never used.
type tokenSigner struct {
	k   *KeyStore
	ref string
	pub interface {
		Equal(crypto.PublicKey) bool
	}

	mu  sync.Mutex
	cur crypto.Signer // nil: not found since the module was reopened
	gen uint64        // the KeyStore generation cur was found in
}

func newTokenSigner(k *KeyStore, ref string, s crypto.Signer, gen uint64) (*tokenSigner, error) {
	pub, ok := s.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil, fmt.Errorf("%w: key %s: public key %T", ErrConfig, ref, s.Public())
	}
	return &tokenSigner{k: k, ref: ref, pub: pub, cur: s, gen: gen}, nil
}

func (s *tokenSigner) Public() crypto.PublicKey { return s.pub }

func (s *tokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	cur, gen := s.cur, s.gen
	s.mu.Unlock()
	failed := errTokenAway
	if cur != nil {
		sig, err := cur.Sign(rand, digest, opts)
		if err == nil {
			return sig, nil
		}
		failed = err
	}
	fresh, freshGen, err := s.k.refind(s.ref, s.pub, gen)
	s.mu.Lock()
	if s.gen <= freshGen {
		s.cur, s.gen = fresh, freshGen
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: %v; finding the key again: %v", ErrKeyUnavailable, failed, err)
	}
	return fresh.Sign(rand, digest, opts)
}

// refind finds the key ref (public key pub) again for a signer that
// failed in generation gen: in a module reopened for the purpose unless
// another signer has reopened it since gen (or one was reopened less than
// reopenEvery ago). It returns the signer (nil on error) and the
// generation it was found in.
func (k *KeyStore) refind(ref string, pub interface{ Equal(crypto.PublicKey) bool }, gen uint64) (crypto.Signer, uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, k.gen, errKMSClosed
	}
	if now := k.now(); (k.km == nil || k.gen == gen) && now.Sub(k.reopened) >= reopenEvery {
		k.reopened = now
		if k.km != nil {
			_ = k.km.Close() // its sessions and handles are stale; closing finalises the module
			k.km = nil
		}
		k.gen++
		km, err := openPKCS11(context.Background(), k.uri)
		if err != nil {
			return nil, k.gen, err
		}
		k.km = km
	}
	if k.km == nil {
		return nil, k.gen, errTokenAway
	}
	s, err := k.km.CreateSigner(&kmsapi.CreateSignerRequest{SigningKey: ref})
	if err != nil {
		return nil, k.gen, fmt.Errorf("finding key %s: %v", ref, err)
	}
	if !pub.Equal(s.Public()) {
		return nil, k.gen, fmt.Errorf("%w: key %s in the token is not the key loaded at start; refusing to sign with it", ErrConfig, ref)
	}
	return s, k.gen, nil
}

// signingFailed is the CA's error for a signature over what that could
// not be made: ErrKeyUnavailable if the key store could not be reached
// (tokenSigner), so the caller may try again later, else ErrSigning.
func signingFailed(what string, err error) error {
	if errors.Is(err, ErrKeyUnavailable) {
		return fmt.Errorf("%w: signing %s: the CA's key store cannot be reached now: %s", ErrKeyUnavailable, what,
			strings.TrimPrefix(err.Error(), ErrKeyUnavailable.Error()+": "))
	}
	return fmt.Errorf("%w: signing %s: %v", ErrSigning, what, err)
}
