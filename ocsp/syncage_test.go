package ocsp

import (
	"context"
	"testing"
	"time"
)

// TestSyncAge: SyncAge is small after a Sync, grows while Syncs fail (the
// store down: revocations are not reaching the answers) and is small
// again once one succeeds.
func TestSyncAge(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	st := &outageStore{Store: p.st, hold: make(chan struct{})}
	close(st.hold) // failed reads fail at once
	r, err := New(context.Background(), Config{Store: st, Issuer: p.cert, Certifier: p, Name: "test",
		Poll: time.Hour, Clock: p.clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Sync(ctx); err != nil || r.SyncAge() > time.Second {
		t.Fatalf("after a Sync: age %v, %v", r.SyncAge(), err)
	}
	st.down.Store(true)
	time.Sleep(100 * time.Millisecond)
	if err := r.Sync(ctx); err == nil {
		t.Fatal("Sync with the store down succeeded")
	}
	if age := r.SyncAge(); age < 100*time.Millisecond {
		t.Fatalf("after a failed Sync 100 ms on: age %v, want at least 100ms", age)
	}
	st.down.Store(false)
	if err := r.Sync(ctx); err != nil || r.SyncAge() >= 100*time.Millisecond {
		t.Fatalf("once the store is back: age %v, %v", r.SyncAge(), err)
	}
}
