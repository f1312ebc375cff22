package verifier

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/smki/smki/internal/dccx509"
)

// CertificateSource finds a signer certificate the bundle does not carry
// (a bundle fetched for following carries none: docs/bundle.md,
// "Certificates"). FetchCertificate returns the DER of the certificate
// with serial issued by the Issuing OCA, or an error wrapping
// ErrCertificateNotFound when there is none. The Verifier never trusts
// the answer for arriving: it checks that the certificate is the one
// KeyInfo named (issuer and serial) and then runs the same chain,
// validity, revocation and role checks as for any signer. Follower is
// one (the RA's repository, GET /repo/certs/{serial}.der).
type CertificateSource interface {
	FetchCertificate(ctx context.Context, serial *big.Int) ([]byte, error)
}

// ErrCertificateNotFound: the certificate source has no certificate with
// that serial.
var ErrCertificateNotFound = errors.New("certificate not found")

// lookupError is why a lookup gave no certificate: msg in smki's words
// (what the CERT reason says), cause the source's or a library's error
// (the log's, never a reason's: it may be network or parser text), later
// whether the request may pass when sent again (the repository was
// unreachable, busy, slow or broken), not a signer the RA never issued.
type lookupError struct {
	msg   string
	cause error
	later bool
}

func (e *lookupError) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *lookupError) Unwrap() error { return e.cause }

// Limits of the certificate lookup (docs/verifier.md, "Certificates by
// IssuerSerial").
const (
	// certFetchTimeout bounds one lookup: a request waits at most this
	// long for its signer's certificate, then is refused CERT.
	certFetchTimeout = 5 * time.Second
	// certFetchConcurrency bounds lookups in flight, so that requests
	// naming unknown serials cannot make the verifier flood the
	// repository.
	certFetchConcurrency = 4
	// certNotFoundTTL is how long a serial the source does not know is
	// answered from memory (refused CERT) before it is asked again.
	certNotFoundTTL = 5 * time.Second
	// certCacheMax bounds the certificates kept; past it an arbitrary
	// one is dropped (it is fetched again when next needed).
	certCacheMax = 100_000
)

// certCache keeps the certificates fetched from a CertificateSource by
// issuer and serial, for the Verifier's lifetime (certificates never
// change; whether one is revoked is the revocation data's to say, on
// every request). Concurrent lookups of one key share one fetch.
type certCache struct {
	src   CertificateSource
	cas   map[string]bool // dnKeys of the configured CAs: the only issuers looked up
	clock func() time.Time
	sem   chan struct{}

	mu       sync.Mutex
	certs    map[certKey]repoEntry
	missing  map[certKey]missEntry
	inflight map[certKey]*certCall
	fetches  uint64
	// issued is the issuance list, when src is an IssuedLister; notIssued
	// counts the serials it refused without a lookup.
	issued    *issuedSet
	notIssued uint64
}

type missEntry struct {
	until time.Time
	err   error
}

type certCall struct {
	done chan struct{}
	e    repoEntry
	err  error
}

func newCertCache(src CertificateSource, ta *trustAnchors, clock func() time.Time) *certCache {
	c := &certCache{src: src, cas: map[string]bool{}, clock: clock, sem: make(chan struct{}, certFetchConcurrency),
		certs: map[certKey]repoEntry{}, missing: map[certKey]missEntry{}, inflight: map[certKey]*certCall{}}
	for _, ca := range ta.cas {
		c.cas[dnKeyFromName(ca.Subject)] = true
	}
	if l, ok := src.(IssuedLister); ok {
		c.issued = newIssuedSet(l)
		c.issued.start()
	}
	return c
}

// cached returns the certificate under k if it was fetched before.
func (c *certCache) cached(k certKey) (repoEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.certs[k]
	return e, ok
}

// get returns the certificate under k (serial is k's serial), fetching it
// from the source when it is not cached. An error says why there is none:
// the request is then refused, never accepted.
func (c *certCache) get(k certKey, serial *big.Int) (repoEntry, error) {
	if !c.cas[k.issuer] {
		return repoEntry{}, &lookupError{msg: "its issuer is not a configured CA"}
	}
	if serial.Sign() <= 0 {
		return repoEntry{}, &lookupError{msg: "its serial is not positive"}
	}
	c.mu.Lock()
	if e, ok := c.certs[k]; ok {
		c.mu.Unlock()
		return e, nil
	}
	if m, ok := c.missing[k]; ok {
		if c.clock().Before(m.until) {
			c.mu.Unlock()
			return repoEntry{}, m.err
		}
		delete(c.missing, k)
	}
	if c.issued != nil {
		// A serial the issuance list lacks is refused without a lookup
		// (not remembered in missing: the list answers it as cheaply,
		// and a flood of them would crowd out what missing remembers).
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), certFetchTimeout)
		err := c.issued.admit(ctx, serial)
		cancel()
		c.mu.Lock()
		if err != nil {
			c.notIssued++
			c.mu.Unlock()
			return repoEntry{}, err
		}
		if e, ok := c.certs[k]; ok { // fetched meanwhile
			c.mu.Unlock()
			return e, nil
		}
	}
	if call, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		<-call.done
		return call.e, call.err
	}
	call := &certCall{done: make(chan struct{})}
	c.inflight[k] = call
	c.fetches++
	c.mu.Unlock()

	call.e, call.err = c.fetch(k, serial)

	c.mu.Lock()
	delete(c.inflight, k)
	switch {
	case call.err == nil:
		if len(c.certs) >= certCacheMax {
			for old := range c.certs {
				delete(c.certs, old)
				break
			}
		}
		c.certs[k] = call.e
	case errors.Is(call.err, ErrCertificateNotFound):
		c.missing[k] = missEntry{until: c.clock().Add(certNotFoundTTL), err: call.err}
		if len(c.missing) > certCacheMax {
			c.missing = map[certKey]missEntry{k: c.missing[k]}
		}
	}
	c.mu.Unlock()
	close(call.done)
	return call.e, call.err
}

// ask asks the source (an embedder's code) on a goroutine of its own,
// holding the semaphore slot taken by fetch until the source returns, and
// waits at most until ctx ends: a source that does not honour its context
// costs the request the lookup's bound, not more (and at most
// certFetchConcurrency such lookups are outstanding: then every lookup is
// refused busy), and one that panics is an error, not a panic up through
// Verify that would also leave the lookup in flight for every later
// request naming that signer to wait on.
func (c *certCache) ask(ctx context.Context, serial *big.Int) ([]byte, error) {
	type answer struct {
		der []byte
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		defer func() { <-c.sem }()
		defer func() {
			if r := recover(); r != nil {
				ch <- answer{err: &lookupError{msg: "the certificate source failed (it panicked)", cause: fmt.Errorf("%v", r), later: true}}
			}
		}()
		der, err := c.src.FetchCertificate(ctx, serial)
		ch <- answer{der, err}
	}()
	select {
	case a := <-ch:
		return a.der, a.err
	case <-ctx.Done():
		return nil, &lookupError{msg: fmt.Sprintf("the certificate source did not answer within %s", certFetchTimeout), later: true}
	}
}

// fetch asks the source, at most certFetchConcurrency at a time, and
// checks that the answer is the certificate asked for.
func (c *certCache) fetch(k certKey, serial *big.Int) (repoEntry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), certFetchTimeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return repoEntry{}, &lookupError{msg: fmt.Sprintf("the certificate repository is busy (%d lookups in flight for %s)", certFetchConcurrency, certFetchTimeout), later: true}
	}
	der, err := c.ask(ctx, serial)
	var le *lookupError
	switch {
	case errors.As(err, &le):
		return repoEntry{}, err
	case errors.Is(err, ErrCertificateNotFound):
		return repoEntry{}, &lookupError{msg: "the certificate repository has none with that serial (certificate not found)", cause: err}
	case err != nil:
		return repoEntry{}, &lookupError{msg: "the certificate repository could not be reached or did not answer", cause: err, later: true}
	}
	cert, err := dccx509.ParseCertificate(der)
	if err != nil {
		return repoEntry{}, &lookupError{msg: "the certificate repository answered a certificate that does not parse", cause: err, later: true}
	}
	if keyOf(cert) != k {
		return repoEntry{}, &lookupError{msg: fmt.Sprintf("the certificate repository answered another certificate (issuer %q, serial %x)", cert.Issuer, cert.SerialNumber), later: true}
	}
	return repoEntry{cert: cert, fp: sha256.Sum256(cert.Raw)}, nil
}

// CertificatesNotIssued counts the signers the Verifier refused without
// a lookup because its IssuedLister, read after the request arrived, had
// not issued their serials (0 without one).
func (v *Verifier) CertificatesNotIssued() uint64 {
	if v == nil || v.certs == nil {
		return 0
	}
	v.certs.mu.Lock()
	defer v.certs.mu.Unlock()
	return v.certs.notIssued
}

// CertificateFetches counts the lookups the Verifier made of its
// CertificateSource (each miss of the cache; concurrent misses of one
// certificate count once).
func (v *Verifier) CertificateFetches() uint64 {
	if v == nil || v.certs == nil {
		return 0
	}
	v.certs.mu.Lock()
	defer v.certs.mu.Unlock()
	return v.certs.fetches
}
