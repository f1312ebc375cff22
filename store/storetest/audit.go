package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

func testAudit(t *testing.T, s store.Store) {
	var appended []store.AuditEntry
	for i := 0; i < 5; i++ {
		update(t, s, func(tx store.Tx) error {
			in := store.AuditEntry{
				// Sub-microsecond times: engines must keep nanoseconds.
				Time: base.Add(time.Duration(i)*time.Second + time.Duration(i+1)), Actor: "ra-1",
				Action: "revoke", Subject: fmt.Sprintf("serial-%d", i), Result: "ok", Detail: "reason 5",
				Seq: 99, Hash: []byte("caller's hash is ignored"),
			}
			e, err := tx.AppendAudit(in)
			noErr(t, "AppendAudit", err)
			// Sealed in the transaction (Seq set) or later (Seq 0); never
			// the caller's numbers.
			if e.Seq != 0 && e.Seq != uint64(i+1) {
				t.Fatalf("AppendAudit seq = %d, want %d or 0 (sealed later)", e.Seq, i+1)
			}
			if e.Seq != 0 && !equalBytes(e.Hash, store.HashAudit(e)) {
				t.Fatalf("entry %d Hash is not HashAudit", e.Seq)
			}
			in.Seq, in.PrevHash, in.Hash = 0, nil, nil
			appended = append(appended, in)
			return nil
		})
	}
	all := sealed(t, s)
	if len(all) != len(appended) {
		t.Fatalf("%d entries sealed, want %d", len(all), len(appended))
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has Seq %d", i, e.Seq)
		}
		if i == 0 && len(e.PrevHash) != 0 {
			t.Fatalf("first entry has PrevHash %x", e.PrevHash)
		}
		if i > 0 && !equalBytes(e.PrevHash, all[i-1].Hash) {
			t.Fatalf("entry %d PrevHash does not link to entry %d", e.Seq, i)
		}
		if !equalBytes(e.Hash, store.HashAudit(e)) {
			t.Fatalf("entry %d Hash is not HashAudit", e.Seq)
		}
		want := appended[i]
		want.Seq, want.PrevHash, want.Hash = e.Seq, e.PrevHash, e.Hash
		same(t, fmt.Sprintf("entry %d", e.Seq), e, want)
	}
	last, err := store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain", err)
	if !equalBytes(last, all[4].Hash) {
		t.Fatal("VerifyChain returned the wrong head")
	}
	view(t, s, func(tx store.Tx) error {
		page, err := tx.AuditEntries(3, 2)
		noErr(t, "AuditEntries(3, 2)", err)
		same(t, "AuditEntries(3, 2)", page, all[2:4])
		// A page verifies from the hash of the entry before it.
		_, err = store.VerifyChain(all[1].Hash, 3, page)
		noErr(t, "VerifyChain page", err)
		rest, err := tx.AuditEntries(6, 0)
		noErr(t, "AuditEntries past end", err)
		if len(rest) != 0 {
			t.Fatalf("AuditEntries(6) = %d entries", len(rest))
		}
		return nil
	})
	// Sealing with nothing pending changes nothing.
	if again := sealed(t, s); len(again) != len(all) {
		t.Fatalf("a second seal left %d entries, want %d", len(again), len(all))
	}
}

// testAuditBatched: Store.Audit appends outside any transaction; records
// from many goroutines, interleaved with Updates that append in their
// transaction, are each chained exactly once, and the chain verifies.
// Bad entries are refused before anything is written.
func testAuditBatched(t *testing.T, s store.Store) {
	ctx := context.Background()
	wantErr(t, "Audit without action", s.Audit(ctx, store.AuditEntry{Time: base}), store.ErrInvalid)
	wantErr(t, "Audit without time", s.Audit(ctx, store.AuditEntry{Action: "read"}), store.ErrInvalid)
	const n = 20
	parallel(t, n, func(w, i int) error {
		subject := fmt.Sprintf("w%d-%d", w, i)
		if i%4 == 0 {
			return s.Update(ctx, func(tx store.Tx) error {
				_, err := tx.AppendAudit(store.AuditEntry{Time: base, Actor: "ca", Action: "issue", Subject: subject})
				return err
			})
		}
		return s.Audit(ctx, store.AuditEntry{Time: base, Actor: "ra", Action: "read", Subject: subject, Result: "allowed"})
	})
	all := sealed(t, s)
	if len(all) != workers*n {
		t.Fatalf("%d entries sealed, want %d", len(all), workers*n)
	}
	seen := map[string]int{}
	for _, e := range all {
		seen[e.Subject]++
	}
	for w := 0; w < workers; w++ {
		for i := 0; i < n; i++ {
			if k := fmt.Sprintf("w%d-%d", w, i); seen[k] != 1 {
				t.Fatalf("entry %s sealed %d times", k, seen[k])
			}
		}
	}
	_, err := store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain", err)
	// Audit does not wait for a running Update: an Update that is held
	// open does not stop an Audit from completing.
	release, entered := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutMeta("held", []byte("1")); err != nil {
				return err
			}
			select {
			case <-entered:
			default:
				close(entered)
			}
			<-release
			return nil
		})
	}()
	<-entered
	done := make(chan error, 1)
	go func() {
		done <- s.Audit(ctx, store.AuditEntry{Time: base, Actor: "ra", Action: "read", Subject: "during"})
	}()
	select {
	case err := <-done:
		noErr(t, "Audit during a held Update", err)
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Audit waited for a running Update")
	}
	close(release)
	wg.Wait()
	if all := sealed(t, s); all[len(all)-1].Subject != "during" {
		t.Fatalf("last sealed entry is %q, want the one appended during the Update", all[len(all)-1].Subject)
	}
}

// testAppendAudits: store.AppendAudits appends its entries in order, between
// the transaction's other appends, and chains them as AppendAudit's; an
// invalid entry fails the call (the transaction is not committed).
func testAppendAudits(t *testing.T, s store.Store) {
	entry := func(i int) store.AuditEntry {
		return store.AuditEntry{Time: base.Add(time.Duration(i) * time.Second), Actor: "ca", Action: "issue",
			Subject: fmt.Sprintf("serial-%d", i), Result: "allowed", Detail: fmt.Sprintf("detail %d", i)}
	}
	var batchErr error
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.AppendAudit(entry(0)); err != nil {
			return err
		}
		if err := store.AppendAudits(tx, []store.AuditEntry{entry(1), entry(2), entry(3)}); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(entry(4)); err != nil {
			return err
		}
		return nil
	})
	err := s.Update(context.Background(), func(tx store.Tx) error {
		batchErr = store.AppendAudits(tx, []store.AuditEntry{entry(5), {Time: base}})
		return batchErr
	})
	wantErr(t, "AppendAudits with an entry without an action", batchErr, store.ErrInvalid)
	wantErr(t, "Update of the refused AppendAudits", err, store.ErrInvalid)
	all := sealed(t, s)
	if len(all) != 5 {
		t.Fatalf("%d entries sealed, want 5", len(all))
	}
	for i, e := range all {
		want := entry(i)
		want.Seq, want.PrevHash, want.Hash = e.Seq, e.PrevHash, e.Hash
		same(t, fmt.Sprintf("entry %d", i), e, want)
	}
	if _, err := store.VerifyChain(nil, 1, all); err != nil {
		t.Fatal(err)
	}
}

// testAuditNotText: an audit entry's text fields may carry what a caller
// sent (a path segment, a name) and so bytes that are not UTF-8 text, or
// NUL. The entry is still appended (a refusal of such a request must be
// audited), its text is stored as UTF-8 with each such byte replaced by
// U+FFFD, and the chain verifies: the hash is over what is stored and read
// back, on every engine.
func testAuditNotText(t *testing.T, s store.Store) {
	bad := "a\xff\xfeb\x00c"
	in := store.AuditEntry{Time: base, Actor: "officer-" + bad, Action: "user.read", Subject: "user:" + bad,
		Result: "refused: E_RA_INVALID_ID", Detail: "id " + bad + " is not an EUI-64"}
	update(t, s, func(tx store.Tx) error {
		_, err := tx.AppendAudit(in)
		noErr(t, "AppendAudit of text that is not UTF-8", err)
		return nil
	})
	all := sealed(t, s)
	if len(all) != 1 {
		t.Fatalf("%d entries sealed, want 1", len(all))
	}
	e := all[0]
	want := "a\uFFFD\uFFFDb\uFFFDc"
	for _, f := range []struct{ name, got, want string }{
		{"Actor", e.Actor, "officer-" + want},
		{"Subject", e.Subject, "user:" + want},
		{"Result", e.Result, in.Result},
		{"Detail", e.Detail, "id " + want + " is not an EUI-64"},
	} {
		if f.got != f.want {
			t.Errorf("%s read back %q, want %q", f.name, f.got, f.want)
		}
	}
	if !equalBytes(e.Hash, store.HashAudit(e)) {
		t.Fatalf("the entry read back does not hash to its Hash: the chain would not verify")
	}
}

// testAuditSealMonitor: every engine reports its audit backlog: an entry
// made durable by Store.Audit is counted, with its time, until a seal
// chains it (the background sealer may already have), and none is after
// SealAudit; no background seal of a healthy store fails.
func testAuditSealMonitor(t *testing.T, s store.Store) {
	m, ok := s.(store.AuditSealMonitor)
	if !ok {
		t.Fatalf("%T does not implement store.AuditSealMonitor: an operator cannot see its sealing fail", s)
	}
	ctx := context.Background()
	noErr(t, "SealAudit", s.SealAudit(ctx))
	if n, oldest, err := m.AuditBacklog(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("AuditBacklog after SealAudit = %d, %v, %v; want 0, the zero time", n, oldest, err)
	}
	at := base.Add(-time.Hour)
	noErr(t, "Audit", s.Audit(ctx, store.AuditEntry{Time: at, Actor: "ra-1", Action: "read", Subject: "serial-1", Result: "ok"}))
	n, oldest, err := m.AuditBacklog(ctx)
	noErr(t, "AuditBacklog", err)
	if n != 0 && (n != 1 || !oldest.Equal(at)) {
		t.Fatalf("AuditBacklog with one entry audited = %d, %v; want 1, %v (or 0 once sealed)", n, oldest, at)
	}
	noErr(t, "SealAudit", s.SealAudit(ctx))
	if n, oldest, err := m.AuditBacklog(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("AuditBacklog after SealAudit = %d, %v, %v; want 0, the zero time", n, oldest, err)
	}
	if f := m.AuditSealFailures(); f != 0 {
		t.Fatalf("AuditSealFailures on a healthy store = %d, want 0", f)
	}
}
