package ocsp

import (
	"context"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/store"
)

// TestResponderMissDoesNotShareCancelledSync: the store is healthy. A miss
// queued on syncMu behind Run (which, at shutdown, runs its Sync with its
// cancelled ctx, exactly as Run's loop does when it passed its select
// before the cancel) shares Run's "context canceled" and is answered
// internalError, though its own Sync (context.Background) would have
// read the certificate.
func TestResponderMissDoesNotShareCancelledSync(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	r := p.responder(t, time.Hour)
	h := r.Handler()
	c := p.issue(501) // committed after the responder's last Sync

	r.syncMu.Lock() // Run holds syncMu (a Sync in progress, or about to start one)
	done := make(chan int)
	go func() {
		der, _ := xocsp.CreateRequest(c, p.cert, nil)
		done <- do(h, der, false).Code
	}()
	time.Sleep(100 * time.Millisecond) // the miss has arrived and waits on syncMu

	ctx, cancel := context.WithCancel(context.Background())
	cancel()           // smki serve shutting down: Serve cancels Run's ctx
	err := r.Sync(ctx) // Run: err = r.Sync(ctx) under syncMu
	r.syncMu.Unlock()
	if err == nil {
		t.Fatal("Run's Sync with a cancelled context succeeded; the test needs it to fail")
	}
	if code := <-done; code != http.StatusOK {
		t.Errorf("miss for a certificate committed before the request, healthy store: HTTP %d, want 200 good", code)
	}
}

// failUpdates is a readable store whose writes fail once broken is set.
type failUpdates struct {
	store.Store
	broken atomic.Bool
}

func (s *failUpdates) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.broken.Load() {
		return errors.New("could not extend file: No space left on device")
	}
	return s.Store.Update(ctx, fn)
}

// TestResponderMissWhilePublishFails: with Publish (PostgreSQL), a Sync
// that read the store but could not write its published responses fails.
// A miss for the certificate it read but could not publish is answered
// internalError (its status is not installed; nothing is remembered),
// while a serial the read shows was never issued is still unknown; once
// writes work again, the certificate is good.
func TestResponderMissWhilePublishFails(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	st := &failUpdates{Store: p.st}
	r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test",
		Poll: time.Hour, Clock: p.clock, Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	c := p.issue(601)     // a pending change the next Sync must publish
	st.broken.Store(true) // writes fail (disk full); reads work
	never := &x509.Certificate{SerialNumber: big.NewInt(999996), RawIssuer: p.cert.RawSubject}
	if resp := ask(t, h, never, p.cert, false); resp.Status != xocsp.Unknown {
		t.Errorf("never-issued serial while publishing fails: status %d, want unknown", resp.Status)
	}
	der, _ := xocsp.CreateRequest(c, p.cert, nil)
	rec := do(h, der, false)
	var re xocsp.ResponseError
	if _, perr := xocsp.ParseResponse(rec.Body.Bytes(), p.cert); rec.Code != http.StatusInternalServerError ||
		!errors.As(perr, &re) || re.Status != xocsp.InternalError {
		t.Errorf("the certificate the Sync read but could not publish: HTTP %d, %v; want 500 internalError", rec.Code, perr)
	}
	r.mu.RLock()
	_, remembered := r.unknown[c.SerialNumber.Text(16)]
	r.mu.RUnlock()
	if remembered {
		t.Error("an unknown answer was remembered for the certificate")
	}
	st.broken.Store(false)
	if resp := ask(t, h, c, p.cert, false); resp.Status != xocsp.Good {
		t.Errorf("the certificate once writes work: status %d, want good", resp.Status)
	}
}

// gateStore: while gate is set, a View reads (its snapshot taken) and
// then waits for release; while down is set, a View fails.
type gateStore struct {
	store.Store
	gate    atomic.Bool
	inView  chan struct{}
	release chan struct{}
	down    atomic.Bool
}

func (s *gateStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.down.Load() {
		return errors.New("connection refused")
	}
	err := s.Store.View(ctx, fn)
	if s.gate.Swap(false) {
		close(s.inView)
		<-s.release
	}
	return err
}

// TestResponderMissAnsweredFromCacheFilledMeanwhile: a miss arrives
// while Run's Sync is reading a snapshot that holds the certificate.
// That Sync succeeds and caches it good, but started before the miss
// arrived; the store then fails, so the Sync the miss runs fails. The
// miss is still answered good, from the cache, not internalError.
func TestResponderMissAnsweredFromCacheFilledMeanwhile(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	st := &gateStore{Store: p.st, inView: make(chan struct{}), release: make(chan struct{})}
	r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test",
		Poll: time.Hour, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	c := p.issue(701)

	st.gate.Store(true)
	runDone := make(chan error)
	go func() { // Run's loop body
		r.syncMu.Lock()
		err := r.Sync(context.Background())
		r.syncMu.Unlock()
		runDone <- err
	}()
	<-st.inView // Run's Sync has read the store, certificate included
	missDone := make(chan int)
	go func() {
		der, _ := xocsp.CreateRequest(c, p.cert, nil)
		missDone <- do(h, der, false).Code
	}()
	time.Sleep(100 * time.Millisecond) // the miss waits on syncMu
	st.down.Store(true)                // the store fails from now on
	close(st.release)
	if err := <-runDone; err != nil {
		t.Fatalf("Run's Sync: %v", err)
	}
	r.mu.RLock()
	cached := r.cache[c.SerialNumber.Text(16)] != nil
	r.mu.RUnlock()
	code := <-missDone
	if !cached {
		t.Fatal("Run's Sync did not cache the certificate")
	}
	if code != http.StatusOK {
		t.Errorf("miss answered HTTP %d while the cache holds a good response for it", code)
	}
}

// TestResponderRevokedWhileWritesFail: once a Sync, or a rebuild (all
// Run does once the responses are due for renewal), has read that a
// cached "good" certificate was revoked but could not install its
// "revoked" answer (publishing failed: disk full), the responder no
// longer serves the "good" it knows to be wrong: the certificate is
// answered internalError until the answer can be installed, then
// revoked.
func TestResponderRevokedWhileWritesFail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		serial int64
		read   func(*Responder) error
	}{
		{"sync", 701, func(r *Responder) error { return r.Sync(context.Background()) }},
		{"rebuild", 801, func(r *Responder) error { return r.rebuild(context.Background()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPKI(t)
			st := &failUpdates{Store: p.st}
			c := p.issue(tc.serial)
			r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test",
				Poll: time.Hour, Clock: p.clock, Publish: true})
			if err != nil {
				t.Fatal(err)
			}
			h := r.Handler()
			if resp := ask(t, h, c, p.cert, false); resp.Status != xocsp.Good {
				t.Fatalf("before the revocation: status %d, want good", resp.Status)
			}
			st.broken.Store(true)
			p.advance(time.Minute)
			p.revoke(c, 1, p.clock())
			if err := tc.read(r); err == nil {
				t.Fatalf("%s succeeded while publishing fails", tc.name)
			}
			der, _ := xocsp.CreateRequest(c, p.cert, nil)
			rec := do(h, der, false)
			resp, perr := xocsp.ParseResponse(rec.Body.Bytes(), p.cert)
			var re xocsp.ResponseError
			if !errors.As(perr, &re) || re.Status != xocsp.InternalError {
				status := -1
				if resp != nil {
					status = resp.Status
				}
				t.Errorf("revoked certificate whose answer could not be installed: HTTP %d, status %d, %v; want internalError", rec.Code, status, perr)
			}
			st.broken.Store(false)
			if resp := ask(t, h, c, p.cert, false); resp.Status != xocsp.Revoked {
				t.Errorf("once writes work: status %d, want revoked", resp.Status)
			}
		})
	}
}

// TestResponderUnknownDuringFailureNotRemembered: while every Sync fails
// after its read (a stored certificate that will not sign), a serial the
// read shows was never issued is answered unknown but not remembered, so
// once it is issued it is not answered unknown from memory
// (internalError while its answer cannot be installed).
func TestResponderUnknownDuringFailureNotRemembered(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	r := p.responder(t, time.Hour)
	h := r.Handler()
	if err := p.st.Update(context.Background(), func(tx store.Tx) error { // its DER does not parse
		return tx.PutCertificate(store.Certificate{Serial: "abcdef", Issuer: "issuing-ca", Profile: "xml-signing",
			NotBefore: p.now, NotAfter: p.now.AddDate(1, 0, 0), IssuedAt: p.now, DER: []byte{0x30, 0x00}})
	}); err != nil {
		t.Fatal(err)
	}
	future := &x509.Certificate{SerialNumber: big.NewInt(902), RawIssuer: p.cert.RawSubject}
	if resp := ask(t, h, future, p.cert, false); resp.Status != xocsp.Unknown {
		t.Fatalf("not yet issued: status %d, want unknown", resp.Status)
	}
	c := p.issue(902)
	der, _ := xocsp.CreateRequest(c, p.cert, nil)
	rec := do(h, der, false)
	if resp, err := xocsp.ParseResponse(rec.Body.Bytes(), p.cert); err == nil && resp.Status == xocsp.Unknown {
		t.Errorf("issued certificate answered unknown (HTTP %d) from an answer remembered while Syncs failed", rec.Code)
	}
}
