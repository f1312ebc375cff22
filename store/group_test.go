package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// memTx is a Tx over a map whose writes a memStore keeps only if the
// transaction's function returns nil.
type memTx struct {
	store.Tx // unused methods panic
	staged   map[string][]byte
	kept     map[string][]byte
}

func (t *memTx) PutMeta(k string, v []byte) error { t.staged[k] = v; return nil }

func (t *memTx) GetMeta(k string) ([]byte, error) {
	if v, ok := t.staged[k]; ok {
		return v, nil
	}
	if v, ok := t.kept[k]; ok {
		return v, nil
	}
	return nil, store.ErrNotFound
}

// memStore is an Update that commits a map after a slow "fsync".
type memStore struct {
	mu      sync.Mutex
	kept    map[string][]byte
	commits int
}

func (m *memStore) update(_ context.Context, fn func(store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &memTx{staged: map[string][]byte{}, kept: m.kept}
	if err := fn(t); err != nil {
		return err
	}
	time.Sleep(2 * time.Millisecond)
	for k, v := range t.staged {
		m.kept[k] = v
	}
	m.commits++
	return nil
}

// TestGrouperSharesCommitsAndIsolatesFailures: concurrent changes share
// commits; a failing change gets its own error and leaves no write, and
// every other change is kept exactly once.
func TestGrouperSharesCommitsAndIsolatesFailures(t *testing.T) {
	t.Parallel()
	m := &memStore{kept: map[string][]byte{}}
	g := store.NewGrouper(m.update)
	boom := errors.New("refused")
	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.Update(context.Background(), func(tx store.Tx) error {
				k := fmt.Sprint(i)
				if _, err := tx.GetMeta(k); err == nil {
					return fmt.Errorf("change %d applied twice", i)
				}
				if err := tx.PutMeta(k, []byte{1}); err != nil {
					return err
				}
				if i%10 == 3 {
					return boom // after writing: the write must not be kept
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		_, kept := m.kept[fmt.Sprint(i)]
		if i%10 == 3 {
			if !errors.Is(errs[i], boom) || kept {
				t.Errorf("failing change %d: err %v, kept %v; want its own error and no write", i, errs[i], kept)
			}
			continue
		}
		if errs[i] != nil || !kept {
			t.Errorf("change %d: err %v, kept %v; want committed", i, errs[i], kept)
		}
	}
	if m.commits >= n*9/10 {
		t.Errorf("%d commits for %d concurrent changes: not grouped", m.commits, n*9/10)
	}
}

// TestGrouperCancelledBeforeJoining: a cancelled context is refused
// before the change is queued.
func TestGrouperCancelledBeforeJoining(t *testing.T) {
	t.Parallel()
	m := &memStore{kept: map[string][]byte{}}
	g := store.NewGrouper(m.update)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := g.Update(ctx, func(store.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("err %v, ran %v; want context.Canceled and not run", err, ran)
	}
}

// TestGrouperPanicAndGoexitStayWithTheirCaller: a change that panics (or
// calls runtime.Goexit, as t.Fatal does) while grouped with others makes
// its own caller panic (or exit) and leaves no write; the others commit,
// and the Grouper keeps working.
func TestGrouperPanicAndGoexitStayWithTheirCaller(t *testing.T) {
	t.Parallel()
	m := &memStore{kept: map[string][]byte{}}
	g := store.NewGrouper(m.update)
	const n = 30
	outcome := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome[i] = "goexit"
			defer func() {
				if r := recover(); r != nil {
					outcome[i] = fmt.Sprint("panic ", r)
				}
			}()
			err := g.Update(context.Background(), func(tx store.Tx) error {
				_ = tx.PutMeta(fmt.Sprint(i), []byte{1})
				switch i % 10 {
				case 4:
					panic("boom")
				case 7:
					runtime.Goexit()
				}
				return nil
			})
			outcome[i] = fmt.Sprint("returned ", err)
		}()
	}
	wg.Wait()
	for i := range n {
		want := "returned <nil>"
		switch i % 10 {
		case 4:
			want = "panic boom"
		case 7:
			want = "goexit"
		}
		_, kept := m.kept[fmt.Sprint(i)]
		if outcome[i] != want || kept != (want == "returned <nil>") {
			t.Errorf("change %d: %s, kept %v; want %s", i, outcome[i], kept, want)
		}
	}
	if err := g.Update(context.Background(), func(tx store.Tx) error { return tx.PutMeta("after", nil) }); err != nil {
		t.Fatalf("Update after the aborts: %v", err)
	}
}

// aloneStore is a Store with UpdateAlone; plainStore has only Update.
type aloneStore struct{ plainStore }

func (aloneStore) UpdateAlone(_ context.Context, fn func(store.Tx) error) error {
	return fmt.Errorf("alone: %w", fn(nil))
}

type plainStore struct{ store.Store }

func (plainStore) Update(_ context.Context, fn func(store.Tx) error) error {
	return fmt.Errorf("update: %w", fn(nil))
}

// TestUpdateOf: a Grouper over a Store runs its UpdateAlone when it has
// one (its Update would group each of the Grouper's transactions again),
// otherwise its Update.
func TestUpdateOf(t *testing.T) {
	t.Parallel()
	ok := errors.New("ran")
	for _, tc := range []struct {
		name string
		st   store.Store
		want string
	}{
		{"alone", aloneStore{}, "alone: ran"},
		{"plain", plainStore{}, "update: ran"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := store.UpdateOf(tc.st)(context.Background(), func(store.Tx) error { return ok })
			if err == nil || err.Error() != tc.want || !errors.Is(err, ok) {
				t.Errorf("UpdateOf ran %v, want %q", err, tc.want)
			}
		})
	}
}

// readAheadTx is a Tx that reads ahead (store.Prefetcher).
type readAheadTx struct {
	store.Tx
	got []store.ReadAhead
}

func (t *readAheadTx) Prefetch(r store.ReadAhead) error { t.got = append(t.got, r); return nil }

// TestReadsAhead: ReadsAhead tells an engine that reads ahead from one
// that does not, and Prefetch reaches only the first, with the IDs
// sorted, without repeats or empty ones.
func TestReadsAhead(t *testing.T) {
	ra := &readAheadTx{}
	if !store.ReadsAhead(ra) || store.ReadsAhead(&memTx{}) {
		t.Fatalf("ReadsAhead: %v for a Prefetcher, %v for a Tx without", store.ReadsAhead(ra), store.ReadsAhead(&memTx{}))
	}
	if err := store.Prefetch(&memTx{}, store.ReadAhead{Users: []string{"u"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.Prefetch(ra, store.ReadAhead{Users: []string{"b", "", "a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if len(ra.got) != 1 || fmt.Sprint(ra.got[0].Users) != "[a b]" {
		t.Fatalf("Prefetch sent %+v, want one read ahead of users [a b]", ra.got)
	}
}
