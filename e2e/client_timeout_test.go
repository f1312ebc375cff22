package e2e

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestClientTimeout: how long a client verb waits for the RA is set by
// --timeout or SMKI_TIMEOUT (default 60s). Against an RA that accepts the
// connection and never answers, a 2s timeout gives up in about 2s with
// E_RA_UNREACHABLE, exit 1; a bad value is a usage error.
func TestClientTimeout(t *testing.T) {
	t.Parallel()
	_, data, _ := devRA(t) // for a real officer credential
	officer := data + "/officers/admin"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	mute := "https://" + ln.Addr().String()

	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"--timeout", nil, []string{"--timeout", "2s"}, 1, "E_RA_UNREACHABLE"},
		{"SMKI_TIMEOUT", []string{"SMKI_TIMEOUT=2s"}, nil, 1, "E_RA_UNREACHABLE"},
		{"flag wins over the variable", []string{"SMKI_TIMEOUT=10m"}, []string{"--timeout", "2s"}, 1, "E_RA_UNREACHABLE"},
		{"not a duration", nil, []string{"--timeout", "soon"}, 2, "timeout"},
		{"zero", nil, []string{"--timeout", "0s"}, 2, "--timeout"},
	} {
		start := time.Now()
		r := runEnv(t, tc.env, append([]string{"officer", "list", "--ra", mute, "--officer", officer}, tc.args...)...)
		took := time.Since(start)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%s: exit %d, want %d with %q (after %s)\nstderr: %s", tc.name, r.code, tc.code, tc.stderr, took.Round(time.Millisecond), r.stderr)
			continue
		}
		if tc.code == 1 && (took < 2*time.Second || took > 20*time.Second) {
			t.Errorf("%s: gave up after %s, want about 2s", tc.name, took.Round(time.Millisecond))
		}
		if tc.code == 1 && !strings.Contains(r.stderr, "did not answer in time") {
			t.Errorf("%s: the error does not say the RA did not answer in time:\n%s", tc.name, r.stderr)
		}
	}
}
