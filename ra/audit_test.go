package ra

import (
	"context"
	"errors"
	"testing"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// tamperStore serves the audit log with one entry edited, as an attacker
// with write access to the database file would leave it.
type tamperStore struct {
	store.Store
	seq  uint64
	edit func(*store.AuditEntry)
}

func (s tamperStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(tamperTx{tx, s}) })
}

type tamperTx struct {
	store.Tx
	s tamperStore
}

func (t tamperTx) AuditEntries(from uint64, limit int) ([]store.AuditEntry, error) {
	es, err := t.Tx.AuditEntries(from, limit)
	for i := range es {
		if es[i].Seq == t.s.seq {
			t.s.edit(&es[i])
		}
	}
	return es, err
}

func TestVerifyAudit(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	rep, err := WalkAudit(ctx, s.st)
	if err != nil || rep.Entries < 7 {
		t.Fatalf("clean chain: %+v %v", rep, err)
	}
	tests := []struct {
		name string
		seq  uint64
		edit func(*store.AuditEntry)
	}{
		{"result rewritten", 3, func(e *store.AuditEntry) { e.Result = "allowed"; e.Actor = "someone" }},
		{"detail edited", 5, func(e *store.AuditEntry) { e.Detail += " " }},
		{"hash recomputed but link broken", 4, func(e *store.AuditEntry) { e.Action = "x"; e.Hash = store.HashAudit(*e) }},
		{"entry dropped", 2, func(e *store.AuditEntry) { e.Seq = 99 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyAudit(ctx, tamperStore{Store: s.st, seq: tc.seq, edit: tc.edit})
			var ce *store.ChainError
			if !errors.Is(err, ErrAuditBroken) || !errors.As(err, &ce) {
				t.Fatalf("got %v", err)
			}
			// A recomputed hash moves the break to the next link.
			if ce.Seq != tc.seq && ce.Seq != tc.seq+1 {
				t.Fatalf("broken at %d, tampered %d", ce.Seq, tc.seq)
			}
		})
	}
	// Only RA officers may ask, and asking is audited.
	if _, err := s.svc.VerifyAudit(ctx, s.aroSup); !errors.Is(err, ErrForbidden) {
		t.Fatalf("ARO verify: %v", err)
	}
	rep, err = s.svc.VerifyAudit(ctx, s.admin)
	if err != nil || !rep.OK {
		t.Fatalf("operator verify: %+v %v", rep, err)
	}
	if last := ratest.AuditTail(s.t, s.st, 1)[0]; last.Action != string(ActVerifyAudit) || last.Actor != "admin" {
		t.Fatalf("last entry %+v", last)
	}
}
