package verifier

import (
	"errors"
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
