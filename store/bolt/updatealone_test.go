package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestUpdateAlone: the transaction a Grouper over the Store runs
// (store.UpdateOf) commits what fn wrote, keeps nothing when fn fails,
// and refuses a closed Store or a cancelled context before starting;
// with each of the Store's write modes.
func TestUpdateAlone(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, mode := range []struct {
		name string
		opts []bolt.Option
	}{
		{"group", nil},
		{"batch", []bolt.Option{bolt.WithBatchDelay(time.Millisecond)}},
	} {
		for _, tc := range []struct {
			name    string
			ctx     context.Context
			close   bool
			fnErr   error
			wantErr error
			kept    bool
		}{
			{"commits", context.Background(), false, nil, nil, true},
			{"fn fails", context.Background(), false, boom, boom, false},
			{"closed", context.Background(), true, nil, store.ErrClosed, false},
			{"cancelled", cancelled, false, nil, context.Canceled, false},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "smki.db")
				s, err := bolt.Open(path, mode.opts...)
				if err != nil {
					t.Fatal(err)
				}
				upd := store.UpdateOf(s)
				if _, ok := store.Store(s).(store.AloneUpdater); !ok {
					t.Fatal("bolt.Store is not a store.AloneUpdater")
				}
				if tc.close {
					s.Close()
				}
				err = upd(tc.ctx, func(tx store.Tx) error {
					if err := tx.CreateParty(store.Party{ID: "90-B3-D5-1F-30-00-00-01", Name: "A", CreatedAt: base}); err != nil {
						return err
					}
					return tc.fnErr
				})
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
					t.Fatalf("UpdateAlone: %v, want %v", err, tc.wantErr)
				}
				if tc.close {
					return
				}
				s.Close()
				if s, err = bolt.Open(path, mode.opts...); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				err = s.View(context.Background(), func(tx store.Tx) error {
					_, err := tx.GetParty("90-B3-D5-1F-30-00-00-01")
					return err
				})
				if kept := err == nil; kept != tc.kept {
					t.Errorf("party kept = %v (%v), want %v", kept, err, tc.kept)
				}
			})
		}
	}
}
