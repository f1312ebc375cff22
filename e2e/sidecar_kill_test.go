package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/verifier/xmldsig"
)

// TestSidecarKill9NoReplay kills `smki verifier serve --state-file` with
// SIGKILL while 8 clients load it, restarts it on the same file, and
// checks that no accepted request's counter was lost: every request the
// killed sidecar answered "accept" is REPLAY after the restart, and so is
// the highest accepted counter; a higher one is accepted (the restarted
// sidecar works). Three rounds. A kill -9 loses what the process had not
// written; it cannot lose the page cache, so this proves that no accept
// is answered before its record is written, not the fsync (which
// statefile_test.go and the design in docs/verifier.md cover).
func TestSidecarKill9NoReplay(t *testing.T) {
	t.Parallel()
	pki := scenario(t)
	user := filepath.Join(pki, "users", "supplier-b-xml")
	key, err := credential.LoadKey(filepath.Join(user, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(user, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	if blk == nil {
		t.Fatal("cert.pem holds no PEM block")
	}
	cert, err := dccx509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// supplier-b's SR 1.6 to Credit, to a device registered to it.
	tmpl, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	const originator, device = "90-B3-D5-1F-30-02-00-00", "00-DB-12-34-56-78-90-BE"
	requestIDRe := regexp.MustCompile(`<sr:RequestID>[^<]*</sr:RequestID>`)
	sign := func(counter uint64) []byte {
		req := requestIDRe.ReplaceAll(tmpl, fmt.Appendf(nil, "<sr:RequestID>%s:%s:%d</sr:RequestID>", originator, device, counter))
		out, err := xmldsig.Sign(req, key, cert, xmldsig.SignOptions{})
		if err != nil {
			panic(err) // called from client goroutines too; the template and key are fixed
		}
		return out
	}
	const perRound = 1 << 20 // far more than the sidecar answers before the kill
	state := filepath.Join(t.TempDir(), "state.log")
	args := []string{"--bundle", filepath.Join(pki, "bundle.json"), "--trust", filepath.Join(pki, "trust"), "--state-file", state}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(addr string, msg []byte) (decision, error) {
		resp, err := client.Post("http://"+addr+"/v1/verify", "application/xml", bytes.NewReader(msg))
		if err != nil {
			return decision{}, err
		}
		defer resp.Body.Close()
		var d decision
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			return decision{}, err
		}
		return d, nil
	}

	var everAccepted []uint64 // counters answered "accept", over all rounds
	next := uint64(0)         // counters below next+1 have been sent
	for round := range 3 {
		p := startSidecarProc(t, args...)
		// Everything accepted before is refused REPLAY after the restart.
		for _, c := range everAccepted {
			if d, err := post(p.addr, sign(c)); err != nil || d.Code != "REPLAY" {
				t.Fatalf("round %d: counter %d, accepted before the kill, now %+v %v; want REPLAY", round, c, d, err)
			}
		}
		var mu sync.Mutex
		var accepted []uint64
		var answers atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var idx atomic.Uint64
		idx.Store(next)
		limit := next + perRound
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					i := idx.Add(1) - 1
					if i >= limit {
						return
					}
					d, err := post(p.addr, sign(i+1))
					if err != nil {
						continue // the kill cut it off: no answer, nothing claimed
					}
					answers.Add(1)
					if d.Decision == "accept" {
						mu.Lock()
						accepted = append(accepted, i+1)
						mu.Unlock()
					}
				}
			})
		}
		// Kill mid-load, once some accepts are in.
		waitFor(t, time.Minute, "accepts under load", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(accepted) >= 50
		})
		p.kill()
		close(stop)
		wg.Wait()
		if len(accepted) == 0 {
			t.Fatalf("round %d: nothing accepted before the kill: the test proved nothing", round)
		}
		t.Logf("round %d: killed after %d answers, %d accepts (highest counter %d)", round, answers.Load(), len(accepted), slices.Max(accepted))
		everAccepted = append(everAccepted, accepted...)
		next = idx.Load()
	}
	p := startSidecarProc(t, args...)
	top := slices.Max(everAccepted)
	for _, c := range everAccepted {
		if d, err := post(p.addr, sign(c)); err != nil || d.Code != "REPLAY" {
			t.Fatalf("final restart: counter %d, accepted before a kill, now %+v %v; want REPLAY", c, d, err)
		}
	}
	if d, err := post(p.addr, sign(top)); err != nil || d.Code != "REPLAY" {
		t.Fatalf("highest accepted counter %d: %+v %v", top, d, err)
	}
	if d, err := post(p.addr, sign(next+1)); err != nil || d.Decision != "accept" {
		t.Fatalf("a fresh higher counter after the restarts: %+v %v", d, err)
	}
}
