package ca

import (
	"bytes"
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

// signWait is the longest a signature waits on the token: for one of
// the maxSigning places and then for the token's answer. crypto11 waits
// for a free session, and C_Sign for the token, without limit, so a token
// that stops answering (an HSM hung, its network silent) would otherwise
// hold an enrolment, and the readiness probe, for ever.
//
// maxSigning is how many signatures one KeyStore has in flight on the
// token at once. A signature the token never answers keeps its place
// until the token answers, so a silent token holds at most maxSigning
// calls (and sessions) however many requests arrive; the others give up
// after signWait. It is well under crypto11's session pool (1024, or the
// token's own limit if lower), so smki never waits on that pool itself.
const (
	signWait   = 10 * time.Second
	maxSigning = 16
)

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

// Sign signs digest with the key in the token, or fails ErrKeyUnavailable
// within signWait (bounded) if the token does not answer by then.
func (s *tokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	digest = bytes.Clone(digest) // a call given up on may still read it
	return s.k.bounded(func() ([]byte, error) { return s.sign(rand, digest, opts) })
}

// bounded runs sign in one of k's maxSigning places and returns its
// answer, or ErrKeyUnavailable once k.signWait has passed: waiting for a
// place (every one holds a signature the token has not answered) or for
// the answer. A call given up on keeps its place until the token answers
// it (a PKCS#11 call cannot be cancelled); its answer is dropped.
func (k *KeyStore) bounded(sign func() ([]byte, error)) ([]byte, error) {
	timer := time.NewTimer(k.signWait)
	defer timer.Stop()
	select {
	case k.signing <- struct{}{}:
	case <-timer.C:
		return nil, fmt.Errorf("%w: every one of the %d signatures in flight has waited on the token for more than %s: the token (HSM) has stopped answering",
			ErrKeyUnavailable, cap(k.signing), k.signWait)
	}
	type answer struct {
		sig []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() { <-k.signing }()
		sig, err := sign()
		done <- answer{sig, err}
	}()
	select {
	case a := <-done:
		return a.sig, a.err
	case <-timer.C:
		return nil, fmt.Errorf("%w: the token (HSM) did not answer a signature within %s", ErrKeyUnavailable, k.signWait)
	}
}

// sign is Sign without its bound.
func (s *tokenSigner) sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
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
	k.objects.Lock()
	defer k.objects.Unlock()
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
