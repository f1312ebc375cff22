package ra

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// partyFailStore fails a party's creation with err while err is set, as
// the store does when it gives up on contention or closes under a call.
type partyFailStore struct {
	store.Store
	err atomic.Pointer[error]
}

func (s *partyFailStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	p := s.err.Load()
	if p == nil {
		return s.Store.Update(ctx, fn)
	}
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(partyFailTx{Tx: tx, err: *p}) })
}

type partyFailTx struct {
	store.Tx
	err error
}

func (t partyFailTx) CreateParty(store.Party) error { return t.err }

// TestAuditFailedIsNoRefusal: a change the store failed to make (busy
// beyond its retries, closed under the call) is recorded as failed, with
// its code, not as a refusal: nothing was decided about the officer's
// request, and an auditor counting refusals must not count contention. A
// real refusal (forbidden) is still "refused: CODE".
func TestAuditFailedIsNoRefusal(t *testing.T) {
	t.Parallel()
	base, err := bolt.Open(filepath.Join(t.TempDir(), "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := &partyFailStore{Store: base}
	s := newScenario(t, st)
	ctx := context.Background()
	tests := []struct {
		name       string
		actor      Actor
		err        error
		wantCode   string
		wantResult string
	}{
		{"busy", s.admin, fmt.Errorf("postgres: gave up after 30 retries: %w", store.ErrConflict), "E_RA_BUSY", "failed: E_RA_BUSY"},
		{"closed", s.admin, fmt.Errorf("bolt: %w", store.ErrClosed), "E_STORE_CLOSED", "failed: E_STORE_CLOSED"},
		{"internal", s.admin, errors.New("bolt: page 7 unreadable"), "E_RA_INTERNAL", "failed: E_RA_INTERNAL"},
		{"forbidden", s.aroSup, nil, "E_RA_FORBIDDEN", "refused: E_RA_FORBIDDEN"},
	}
	for i, tt := range tests {
		st.err.Store(nil)
		if tt.err != nil {
			st.err.Store(&tt.err)
		}
		id := eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x00, 0x0F, byte(i)}
		_, err := s.svc.CreateParty(ctx, tt.actor, id, "party "+tt.name)
		st.err.Store(nil)
		if CodeOf(err) != tt.wantCode {
			t.Errorf("%s: CreateParty = %v, want %s", tt.name, err, tt.wantCode)
			continue
		}
		last := ratest.AuditTail(t, base, 1)[0]
		if last.Action != string(ActCreateParty) || last.Result != tt.wantResult {
			t.Errorf("%s: audit record %s %q, want %s %q", tt.name, last.Action, last.Result, ActCreateParty, tt.wantResult)
		}
	}
}
