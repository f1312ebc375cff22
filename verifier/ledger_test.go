package verifier

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLedgerSharedAcrossVerifiers: Verifiers built one after another on
// one Ledger (a sidecar reloading its trust directory) remember what the
// earlier ones accepted: a request accepted by the first is a replay to
// the second, and the second counts the ADT window on from the first's
// count. With a Verifier of its own per build, both were forgotten: every
// accepted request could be sent again after a reload, and a burst
// counted from zero.
func TestLedgerSharedAcrossVerifiers(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	credit := func(ctr uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false) }
	at := testNow.Add(time.Minute)
	led := NewLedger(nil)
	first := s.verifier(t, func(o *Options) { o.Ledger = led })
	for i := range uint64(4) {
		if d := first.Verify(credit(i+1), at); !d.Accepted() {
			t.Fatalf("request %d to the first verifier: %+v", i+1, d)
		}
	}
	second := s.verifier(t, func(o *Options) { o.Ledger = led })
	if d := second.Verify(credit(4), at); d.Code != CodeREPLAY {
		t.Fatalf("the first verifier's last request sent to the second: %s %q (%s), want REPLAY", d.Decision, d.Code, d.Reason)
	}
	if d := second.Verify(credit(5), at); !d.Accepted() {
		t.Fatalf("the fifth request of the hour: %+v", d)
	}
	if d := second.Verify(credit(6), at); d.Code != CodeAD1 {
		t.Fatalf("the sixth request of the hour (quarantine at 5): %s %q (%s), want AD1", d.Decision, d.Code, d.Reason)
	}

	// The control: a Verifier of its own forgets both.
	alone := s.verifier(t, nil)
	if d := alone.Verify(credit(4), at); !d.Accepted() {
		t.Fatalf("control: a verifier with its own ledger accepts the replay (%+v): the test cannot tell the cases apart", d)
	}

	if _, err := New(func() Options { o := s.options(s.bundle); o.Ledger, o.Replay = led, NewMemoryReplayStore(); return o }()); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with both Ledger and Replay: %v, want ErrConfig", err)
	}
}

// TestLedgerOneAcceptAcrossVerifiers: while an old and a new Verifier on
// one Ledger both answer (a reload hands over between them), one counter
// is accepted once, however the copies of the request are spread.
func TestLedgerOneAcceptAcrossVerifiers(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	led := NewLedger(nil)
	vs := []*Verifier{s.verifier(t, func(o *Options) { o.Ledger = led }), s.verifier(t, func(o *Options) { o.Ledger = led })}
	at := testNow.Add(time.Minute)
	for ctr := uint64(1); ctr <= 4; ctr++ {
		req := sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false)
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for i := range 8 {
			wg.Go(func() {
				if d := vs[i%2].Verify(req, at); d.Accepted() {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if accepted != 1 {
			t.Fatalf("counter %d sent 8 times to two verifiers on one ledger: %d accepted, want 1", ctr, accepted)
		}
	}
}

// TestLedgerStateFailureOutlivesVerifier: a state file that could not
// make an accept durable (sticky until restart) makes every Verifier on
// its Ledger not ready, including one built after the failure (a sidecar
// reloading its trust directory on SIGHUP). Before, the failure was the
// failed Verifier's own: the one built next answered /readyz 200 and
// smki_verifier_state_durable 1 while it refused every would-be accept
// STATE, so a probe put it back in its load balancer.
func TestLedgerStateFailureOutlivesVerifier(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	st := openState(t, filepath.Join(t.TempDir(), "state.log"), StateFileOptions{MaxDelay: -1})
	led := NewLedger(st)
	credit := func(ctr uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false) }
	at := testNow.Add(time.Minute)
	first := s.verifier(t, func(o *Options) { o.Ledger = led })
	mustAccept(t, first, credit(1))
	// The disk goes away under the flusher.
	if st.df != nil {
		st.df.Close()
	}
	st.f.Close()
	if d := first.Verify(credit(2), at); d.Code != CodeSTATE {
		t.Fatalf("on a failed store: %+v, want STATE", d)
	}
	if len(first.NotReady()) == 0 {
		t.Fatal("the failed verifier is ready")
	}
	second := s.verifier(t, func(o *Options) { o.Ledger = led })
	reasons := second.NotReady()
	if len(reasons) == 0 || !strings.Contains(strings.Join(reasons, "; "), "state not durable") {
		t.Fatalf("a verifier built on the failed ledger: NotReady %q, want the state failure", reasons)
	}
	if second.StateError() == "" {
		t.Fatal("a verifier built on the failed ledger: StateError empty")
	}
	if d := second.Verify(credit(3), at); d.Code != CodeSTATE {
		t.Fatalf("a verifier built on the failed ledger: %+v, want STATE", d)
	}
	st.Close()
}

// TestOneLedgerPerStore: Verifiers each given the same ReplayStore in
// Options.Replay (an embedder rebuilding its Verifier on a reload, as
// the docs' first example does, without knowing of Options.Ledger) share
// that store's one Ledger: the ADT window counts the requests both
// accepted, and a request both are sent at once is accepted once. Each
// got a Ledger of its own: the quarantine threshold of 5 let 10 requests
// an hour through two Verifiers, and the replay check of one did not lock
// out the other's (Last, then Stage, under each Ledger's own lock).
func TestOneLedgerPerStore(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	credit := func(ctr uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false) }
	at := testNow.Add(time.Minute)
	for _, store := range []struct {
		name string
		open func(t *testing.T) ReplayStore
	}{
		{"memory", func(*testing.T) ReplayStore { return NewMemoryReplayStore() }},
		{"state file", func(t *testing.T) ReplayStore {
			st := openState(t, filepath.Join(t.TempDir(), "state.log"), StateFileOptions{})
			t.Cleanup(func() { st.Close() })
			return st
		}},
	} {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			st := store.open(t)
			vs := []*Verifier{s.verifier(t, func(o *Options) { o.Replay = st }), s.verifier(t, func(o *Options) { o.Replay = st })}
			for i := range uint64(5) {
				if d := vs[i%2].Verify(credit(i+1), at); !d.Accepted() {
					t.Fatalf("request %d: %+v", i+1, d)
				}
			}
			for i, v := range vs {
				if d := v.Verify(credit(uint64(6+i)), at); d.Code != CodeAD1 {
					t.Fatalf("request %d of the hour to verifier %d (quarantine at 5, over both): %s %q (%s), want AD1",
						6+i, i, d.Decision, d.Code, d.Reason)
				}
			}
			if NewLedger(st) != vs[0].led || vs[0].led != vs[1].led {
				t.Fatal("a store has more than one Ledger")
			}
		})
	}
}
