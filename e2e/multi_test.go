package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// schedulerState reads "scheduler" from /healthz ("" if unreachable).
func (s *server) schedulerState() string {
	resp, err := s.client.Get("https://" + s.addr + "/healthz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var h struct {
		Scheduler string `json:"scheduler"`
	}
	if json.NewDecoder(resp.Body).Decode(&h) != nil {
		return ""
	}
	return h.Scheduler
}

// TestTwoInstancesOnPostgres: two `smki serve` processes on one database
// and copies of one data directory issue concurrently without a duplicate
// serial, and everything issued is recorded; scheduled work has exactly
// one leader at every sample, and when the leader is SIGKILLed the other
// instance takes over within a bounded time.
func TestTwoInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: multi-instance test in -short mode")
	}
	t.Parallel()
	requirement(t, "L1", "L6")
	eng := pgEngine(t)
	dataA := filepath.Join(t.TempDir(), "a")
	a := eng.serve(t, dataA)
	// What instances must share: the data directory's keys, access CA,
	// RA signer and officer credentials (docs/operations.md).
	dataB := filepath.Join(t.TempDir(), "b")
	if r := runCmd(t, nil, "cp", "-a", dataA, dataB); r.code != 0 {
		t.Fatalf("copying the data directory: %s", r.stderr)
	}
	b := eng.serve(t, dataB)
	servers := []*server{a, b}

	leaders := func() (n int, leader *server, states []string) {
		for _, s := range servers {
			st := s.schedulerState()
			states = append(states, st)
			if st == "leader" {
				n++
				leader = s
			}
		}
		return n, leader, states
	}
	// Exactly one leader, once the second instance has polled.
	var leader *server
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, l, states := leaders()
		if n == 1 && states[0] != "" && states[1] != "" {
			leader = l
			break
		}
		if n > 1 {
			t.Fatalf("two leaders: %v", states)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader after 10s: %v", states)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Concurrent enrolments through both instances, while sampling the
	// leadership: never two leaders.
	const workers, each = 4, 15
	fx := newEnrolFixture(t, "https://"+a.addr, dataA, 2*workers, 0x71)
	var got issued
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for i := range 2 * workers {
		srv := servers[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, failed, err := enrolLoop(ctx, "https://"+srv.addr, fx.sro, fx.users[i], each, &got)
			if err == nil && (ok != each || failed != 0) {
				err = fmt.Errorf("worker %d: %d issued, %d failed", i, ok, failed)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	stopSampling := make(chan struct{})
	sampled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stopSampling:
				sampled <- n
				return
			case <-time.After(100 * time.Millisecond):
			}
			if k, _, states := leaders(); k > 1 {
				t.Errorf("two leaders at once: %v", states)
			}
			n++
		}
	}()
	wg.Wait()
	close(stopSampling)
	samples := <-sampled
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got.len() != 2*workers*each {
		t.Errorf("%d certificates issued, want %d", got.len(), 2*workers*each)
	}

	// Kill the leader: the other instance takes over.
	other := a
	if leader == a {
		other = b
	}
	killedAt := time.Now()
	leader.kill()
	for other.schedulerState() != "leader" {
		if time.Since(killedAt) > 15*time.Second {
			t.Fatalf("standby did not take over within 15s of the leader's SIGKILL")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("takeover %v after SIGKILL; %d leadership samples during %d concurrent issuances",
		time.Since(killedAt).Round(10*time.Millisecond), samples, got.len())
	other.stop()

	st := eng.open(t)
	defer st.Close()
	checkStore(t, st, &got, false)
}
