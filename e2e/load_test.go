package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/raclient"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestRALoad puts 200 concurrent clients on a loopback server for a
// bounded count and time (at most 60 seconds): each registers users, one
// write per request, and reads them back. Afterwards, with the server
// stopped, every acknowledged write is in the store exactly once, nothing
// unacknowledged is, and the audit chain verifies. Latency percentiles are
// logged (go test -v -run TestRALoad ./e2e).
func TestRALoad(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: load test in -short mode")
	}
	t.Parallel()
	requirement(t, "L1", "L6")
	const (
		clients   = 200
		perClient = 10
		budget    = 60 * time.Second
	)
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	url := "https://" + srv.addr
	admin := filepath.Join(data, "officers", "admin")

	setup, err := raclient.NewClient(url, admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	party := eui64.MustParse("90-B3-D5-1F-40-00-00-01")
	if _, err := setup.CreateParty(ctx, party, "load-party"); err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		acked     = map[eui64.ID]bool{}
		errs      []error
	)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := raclient.NewClient(url, admin)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			for i := range perClient {
				if ctx.Err() != nil {
					return
				}
				var id eui64.ID
				binary.BigEndian.PutUint64(id[:], 0x90B3D51F41000000|uint64(c)<<8|uint64(i))
				start := time.Now()
				_, err := cl.CreateUser(ctx, id, party, role.OtherUser, fmt.Sprintf("load-%d-%d", c, i))
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("client %d request %d: %w", c, i, err))
				} else {
					acked[id] = true
					latencies = append(latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors under load, first: %v", len(errs), errs[0])
	}
	if ctx.Err() != nil {
		t.Logf("time budget reached after %d writes", len(acked))
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("RA load: %d clients, %d writes, p50 %s p99 %s max %s", clients, len(latencies), pct(0.50), pct(0.99), latencies[len(latencies)-1])

	syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGTERM)
	srv.cmd.Wait()
	st, err := bolt.Open(filepath.Join(data, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var users []store.User
	if err := st.View(context.Background(), func(tx store.Tx) error {
		users, err = tx.ListUsers(party.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, u := range users {
		seen[u.ID]++
	}
	for id := range acked {
		if seen[id.String()] != 1 {
			t.Errorf("acknowledged user %s stored %d times", id, seen[id.String()])
		}
	}
	if len(users) != len(acked) {
		t.Errorf("store holds %d users of the party, %d were acknowledged", len(users), len(acked))
	}
	if err := ra.VerifyAudit(context.Background(), st); err != nil {
		t.Errorf("audit chain after load: %v", err)
	}
}
