package ocsp

import (
	"context"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/smki/smki/store"
)

// outageStore is a store whose reads fail while down is set: each failed
// View first waits for hold to be closed (a store that hangs, then
// errs), and counts itself in failed.
type outageStore struct {
	store.Store
	down   atomic.Bool
	hold   chan struct{}
	failed atomic.Int32
}

func (s *outageStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.down.Load() {
		s.failed.Add(1)
		<-s.hold
		return errors.New("connection refused")
	}
	return s.Store.View(ctx, fn)
}

// TestResponderMissDuringStoreOutage: while the store cannot be read, a
// serial the cache lacks (a certificate issued since the last Sync, or
// one never issued) is answered internalError, not a signed "unknown",
// and nothing is remembered; a burst of such misses shares the failed
// Syncs (one or two attempts, not one each in turn); once the store is
// back, the certificate is good and the never-issued serial unknown.
func TestResponderMissDuringStoreOutage(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	st := &outageStore{Store: p.st, hold: make(chan struct{})}
	r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test",
		Poll: time.Hour, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	c := p.issue(401) // committed after the responder's last Sync
	never := &x509.Certificate{SerialNumber: big.NewInt(999997), RawIssuer: p.cert.RawSubject}
	st.down.Store(true)

	const burst = 20
	statuses := make([]int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			target := c
			if i%2 == 1 {
				target = never
			}
			der, err := xocsp.CreateRequest(target, p.cert, nil)
			if err != nil {
				t.Error(err)
				return
			}
			rec := do(h, der, false)
			statuses[i] = rec.Code
			_, perr := xocsp.ParseResponse(rec.Body.Bytes(), p.cert)
			var re xocsp.ResponseError
			if !errors.As(perr, &re) || re.Status != xocsp.InternalError {
				t.Errorf("miss %d during the outage: HTTP %d, parse %v; want OCSP internalError", i, rec.Code, perr)
			}
		})
	}
	// The first miss's Sync hangs in the store; let the burst arrive and
	// queue behind it, then let the store fail.
	for st.failed.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(st.hold)
	wg.Wait()
	for i, code := range statuses {
		if code != http.StatusInternalServerError {
			t.Errorf("miss %d during the outage: HTTP %d, want 500", i, code)
		}
	}
	// The hung attempt, and one more for the misses that arrived while it
	// hung; a third only if one of them was slow to arrive.
	t.Logf("%d Sync attempts for %d misses during the outage", st.failed.Load(), burst)
	if n := st.failed.Load(); n > 3 {
		t.Errorf("%d Sync attempts for a burst of %d misses during the outage; want them to share (at most 3)", n, burst)
	}
	r.mu.RLock()
	remembered := len(r.unknown)
	r.mu.RUnlock()
	if remembered != 0 {
		t.Errorf("%d unknown answers remembered from the outage; want none", remembered)
	}

	st.down.Store(false)
	if resp := ask(t, h, c, p.cert, false); resp.Status != xocsp.Good {
		t.Fatalf("after the outage: status %d, want good", resp.Status)
	}
	der, _ := xocsp.CreateRequest(never, p.cert, nil)
	resp, err := xocsp.ParseResponse(do(h, der, false).Body.Bytes(), p.cert)
	if err != nil || resp.Status != xocsp.Unknown {
		t.Fatalf("never issued, after the outage: %v, %+v", err, resp)
	}
}
