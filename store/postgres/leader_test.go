package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestLeader: of two instances one leads; leadership moves when the
// leader releases it or when its session dies (pg_terminate_backend, as
// when PostgreSQL notices a killed process), and a leader whose session
// died finds out at its next Poll.
func TestLeader(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	ctx := context.Background()
	a, b := openURL(t, u), openURL(t, u)
	var kb [8]byte
	rand.Read(kb[:])
	key := int64(binary.BigEndian.Uint64(kb[:]) >> 2) // advisory locks are database-wide: a key of its own
	la, lb := a.NewLeader(key), b.NewLeader(key)
	defer la.Release()
	defer lb.Release()
	poll := func(name string, l interface {
		Poll(context.Context) (bool, error)
	}, want bool) {
		t.Helper()
		got, err := l.Poll(ctx)
		if got != want {
			t.Fatalf("%s.Poll = %v (%v), want %v", name, got, err, want)
		}
	}
	poll("a", la, true)
	poll("b", lb, false)
	poll("a again", la, true)
	if _, ok, err := lb.TryLock(ctx); ok || err != nil {
		t.Fatalf("b.TryLock = %v, %v while a leads", ok, err)
	}
	la.Release()
	if la.Leading() {
		t.Fatal("a leads after Release")
	}
	poll("b after a released", lb, true)
	poll("a after b took over", la, false)

	// Kill b's session from outside.
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1`,
		key>>32, key&0xffffffff).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the leader's session: %d, %v", killed, err)
	}
	if ok, err := lb.Poll(ctx); ok || err == nil {
		t.Fatalf("b.Poll after its session died = %v, %v; want false and an error", ok, err)
	}
	// The killed backend frees its lock when it exits, shortly after
	// pg_terminate_backend returns: a takes over within a bounded time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := la.Poll(ctx)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a did not take over after b's session died: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
