package ra

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/publish"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// TestSetPartyStatus: an ra-operator suspends and reinstates a party in
// one audited transaction that advances the party-status sequence; a
// held feed request with parties=M is answered at once with the list; the
// bundle carries the sequence; others may not, and no-op changes and a
// failed party are refused with nothing written.
func TestSetPartyStatus(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	ctx := context.Background()
	seqOf := func() uint64 {
		var n uint64
		if err := f.st.View(ctx, func(tx store.Tx) error {
			var err error
			n, err = records.PartySeq(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A follower at party_seq 0 is held (no news) until the suspension.
	zero := uint64(0)
	got := make(chan []byte, 1)
	go func() {
		env, err := f.svc.Feed(ctx, f.admin, FeedQuery{Since: 0, Wait: MaxFeedWait, Parties: &zero})
		if err != nil {
			t.Error(err)
		}
		got <- env
	}()
	for f.svc.HeldFeedRequests() == 0 {
		time.Sleep(time.Millisecond)
	}

	for _, tc := range []struct {
		name   string
		who    Actor
		status string
		want   error
	}{
		{"party officer may not", f.sroSup, "suspended", ErrForbidden},
		{"bad status", f.admin, "failed", ErrBadRequest},
		{"already active", f.admin, "active", ErrInactive},
	} {
		before := ratest.AuditLen(f.t, f.st)
		if _, err := f.svc.SetPartyStatus(ctx, tc.who, f.supplier, tc.status); !errors.Is(err, tc.want) {
			t.Fatalf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if seqOf() != 0 {
			t.Fatalf("%s: party_seq advanced", tc.name)
		}
		if tc.want != ErrBadRequest && ratest.AuditLen(f.t, f.st) != before+1 {
			t.Fatalf("%s: refusal not audited", tc.name)
		}
	}

	before := ratest.AuditLen(f.t, f.st)
	p, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "suspended")
	if err != nil || p.Status != "suspended" {
		t.Fatalf("suspend: %+v %v", p, err)
	}
	if seqOf() != 1 || ratest.AuditLen(f.t, f.st) != before+1 {
		t.Fatalf("suspend: party_seq %d, audit +%d", seqOf(), ratest.AuditLen(f.t, f.st)-before)
	}
	if last := ratest.AuditTail(f.t, f.st, 1)[0]; last.Action != string(ActSuspendParty) {
		t.Fatalf("audit %+v", last)
	}
	select {
	case env := <-got:
		page := f.open(t, env)
		if page.PartySeq != 1 || len(page.Parties) != 1 || page.Parties[0].ID != f.supplier || page.Parties[0].Status != bundle.StatusSuspended {
			t.Fatalf("page %+v", page)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the held feed request was not answered by the suspension")
	}
	if _, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "suspended"); !errors.Is(err, ErrInactive) {
		t.Fatalf("second suspension: %v", err)
	}
	b, err := f.svc.BuildBundle(ctx)
	if err != nil || b.PartySeq != 1 {
		t.Fatalf("bundle party_seq %d, %v", b.PartySeq, err)
	}
	if _, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "active"); err != nil {
		t.Fatal(err)
	}
	// Reinstated: a follower at 1 is answered at once, with no party.
	one := uint64(1)
	env, err := f.svc.Feed(ctx, f.admin, FeedQuery{Wait: MaxFeedWait, Parties: &one})
	if err != nil {
		t.Fatal(err)
	}
	if page := f.open(t, env); page.PartySeq != 2 || len(page.Parties) != 0 {
		t.Fatalf("after reinstatement: %+v", page)
	}
}

// gatedStore blocks every View while closed is set, until open is closed
// or the caller's context ends: a store whose connections are all busy.
type gatedStore struct {
	store.Store
	closed atomic.Bool
	open   chan struct{}
}

func (s *gatedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		select {
		case <-s.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.View(ctx, fn)
}

// TestPartyNewsNeedsNoStoreRead (issue 20): a held feed request of a
// follower behind on party status is answered from the party part the
// committing transaction handed the hub, without a read of its own, so a
// party's failure reaches followers while the store cannot serve reads
// (every PostgreSQL connection taken by bundle builds and a bulk
// revocation, as in BenchmarkSupplierCutOff).
func TestPartyNewsNeedsNoStoreRead(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gate := &gatedStore{Store: f.svc.st, open: make(chan struct{})}
	defer close(gate.open)
	f.svc.pub = publish.New(gate, f.svc.signer, f.svc.now, f.svc.log, f.svc.bundleMaxAge, &f.svc.feed)
	zero := uint64(0)
	got := make(chan []byte, 1)
	go func() {
		env, err := f.svc.Feed(ctx, f.admin, FeedQuery{Wait: MaxFeedWait, Parties: &zero})
		if err != nil && ctx.Err() == nil {
			t.Error(err)
		}
		got <- env
	}()
	for f.svc.HeldFeedRequests() == 0 {
		time.Sleep(time.Millisecond)
	}
	gate.closed.Store(true)
	if _, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "suspended"); err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-got:
		page := f.open(t, env)
		if page.PartySeq != 1 || len(page.Parties) != 1 || page.Parties[0].ID != f.supplier || page.Parties[0].Status != bundle.StatusSuspended ||
			len(page.Revoked) != 0 || page.Seq != 0 {
			t.Fatalf("page %+v", page)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held request waited for a store read to deliver the party news")
	}
}
