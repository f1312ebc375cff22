package e2e

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestCrashSafety drives issuance through the RA from several clients,
// SIGKILLs `smki serve` at random moments (at least 20 times, within a
// time budget), restarts it each time, and after a final restart checks
// that nothing was signed without a record: every certificate a client
// received is stored with the same DER, no serial is used twice, every
// intent is settled (completed or failed) and the audit chain verifies.
// It runs once per engine, with group commit as serve runs by default
// (bbolt groups every transaction; the CA groups concurrent issuances'
// intents and records on both engines), so a kill lands between grouped
// commits too.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: crash test in -short mode")
	}
	t.Parallel()
	requirement(t, "L1", "L6")
	for _, name := range []string{"bbolt", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			eng := boltEngine(data)
			if name == "postgres" {
				eng = pgEngine(t)
				// One instance: its restart may settle every open intent.
				eng.args = []string{"--reconcile-after", "0s"}
			}
			crashLoop(t, eng, data)
		})
	}
}

func crashLoop(t *testing.T, eng engine, data string) {
	const (
		kills   = 20
		workers = 4
		budget  = 60 * time.Second
	)
	deadline := time.Now().Add(budget)
	srv := eng.serve(t, data)
	fx := newEnrolFixture(t, "https://"+srv.addr, data, workers, 0x70)
	var got issued
	var failedCalls int
	n := 0
	for ; n < kills || (n < 3*kills && got.len() == 0); n++ {
		if time.Now().After(deadline) && n >= kills {
			break
		}
		if n > 0 {
			srv = eng.serve(t, data)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, f, err := enrolLoop(ctx, "https://"+srv.addr, fx.sro, fx.users[w], 0, &got)
				mu.Lock()
				failedCalls += f
				mu.Unlock()
				if err != nil {
					t.Errorf("kill %d worker %d: %v", n, w, err)
				}
			}()
		}
		// A random moment: anywhere from the first request to several
		// issuances in, so kills land between intent, signing and record.
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		srv.kill()
		cancel()
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	// The final restart reconciles what the last kill left open.
	srv = eng.serve(t, data)
	srv.stop()
	st := eng.open(t)
	defer st.Close()
	certs, failed := checkStore(t, st, &got, true)
	t.Logf("%s: %d kills, %d certificates received by clients, %d stored, %d intents failed by reconciliation, %d client calls cut off",
		eng.name, n, got.len(), certs, failed, failedCalls)
	if n < kills {
		t.Errorf("only %d kills", n)
	}
	if got.len() == 0 {
		t.Error("no issuance succeeded between kills: the test proved nothing")
	}
}
