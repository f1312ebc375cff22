package ocsp

import (
	"context"
	"errors"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// TestResponderMissWaitIsBounded: a cache miss waits for a Sync at most
// missWait from its arrival, whatever the store does, and is then
// answered internalError: behind Run's Sync hung on a store that does
// not answer (run), and on a Sync of its own that hangs (own). Once the
// store answers again, the certificate is answered good.
func TestResponderMissWaitIsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		runHung bool // Run holds syncMu, its Sync hung
	}{{"run", true}, {"own", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPKI(t)
			st := &outageStore{Store: p.st, hold: make(chan struct{})}
			r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test",
				Poll: time.Hour, Clock: p.clock})
			if err != nil {
				t.Fatal(err)
			}
			const wait = 300 * time.Millisecond
			r.missWait = wait
			h := r.Handler()
			c := p.issue(801) // committed after the responder's last Sync
			st.down.Store(true)
			// The store answers again after 5 s at the latest, so that the
			// old code fails the test rather than hanging it.
			release := time.AfterFunc(5*time.Second, func() { st.down.Store(false); close(st.hold) })
			defer release.Stop()
			runDone := make(chan error, 1)
			if tc.runHung {
				go func() { // Run's loop body, its Sync hung on the store
					r.syncMu.Lock()
					err := r.Sync(context.Background())
					r.syncMu.Unlock()
					runDone <- err
				}()
				for st.failed.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			der, err := xocsp.CreateRequest(c, p.cert, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rec := do(h, der, false)
			took := time.Since(start)
			_, perr := xocsp.ParseResponse(rec.Body.Bytes(), p.cert)
			var re xocsp.ResponseError
			if !errors.As(perr, &re) || re.Status != xocsp.InternalError {
				t.Errorf("miss while the store hangs: HTTP %d, parse %v; want OCSP internalError", rec.Code, perr)
			}
			if took > 10*wait {
				t.Errorf("the miss waited %s; its wait is bounded by %s", took.Round(time.Millisecond), wait)
			}
			if release.Stop() {
				st.down.Store(false)
				close(st.hold)
			}
			if tc.runHung {
				<-runDone
			}
			// The store answers: a later miss (or the cache the hung Sync
			// filled once released) says good.
			if resp := ask(t, h, c, p.cert, false); resp.Status != xocsp.Good {
				t.Errorf("once the store answers: status %d, want good", resp.Status)
			}
		})
	}
}
