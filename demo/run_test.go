package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/internal/need"
)

func TestTable(t *testing.T) {
	t.Parallel()
	got := table([][]string{{"a", "bbb", "c"}, {"dddd", "e", "ff"}, {"✓", "x", ""}})
	want := []string{"a     bbb  c", "dddd  e    ff", "✓     x    "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("table:\n%q\nwant\n%q", got, want)
	}
}

// fixedClock advances one second per reading, so durations are known.
func fixedClock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func TestReporterPlain(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	r := newReporter(&b, modePlain, fixedClock())
	r.header("title %d", 1)
	r.begin(1, "first")
	r.end(Step{N: 1, Title: "first", OK: true, Detail: "fine", Lines: []string{"sub"}, Seconds: 0.5})
	r.begin(2, "second")
	r.end(Step{N: 2, Title: "second", Error: "E_X: broke"})
	if err := r.finish(Report{Failed: "step 2 (second): E_X: broke"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"title 1\n", "✓  1. first — fine  (0.5s)\n", "       sub\n", "✗  2. second", "FAILED: E_X: broke", "Demo FAILED at step 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("plain output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") || strings.Contains(out, "\033") {
		t.Errorf("plain output has terminal control characters: %q", out)
	}
}

func TestReporterJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	r := newReporter(&b, modeJSON, fixedClock())
	r.header("not in JSON")
	r.begin(1, "only")
	r.end(Step{N: 1, Title: "only", OK: true})
	if b.Len() != 0 {
		t.Fatalf("JSON mode wrote before the end: %q", b.String())
	}
	if err := r.finish(Report{OK: true, Stream: []StreamCase{{N: 1, Got: "E4", Want: "E4", OK: true}}}); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if !rep.OK || len(rep.Steps) != 1 || rep.Steps[0].Title != "only" || len(rep.Stream) != 1 || rep.Stream[0].Got != "E4" {
		t.Fatalf("report %+v", rep)
	}
}

func TestReporterTTY(t *testing.T) {
	t.Parallel()
	var b syncBuffer
	r := newReporter(&b, modeTTY, time.Now)
	r.begin(1, "spinning")
	// The spinner's first frame, drawn by its goroutine: wait for it, not
	// for a guessed time.
	frame := "\r\033[K" + spinFrames[0] + "  1. spinning  "
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), frame); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no spinner frame %q after 10s: %q", frame, b.String())
		}
	}
	r.end(Step{N: 1, Title: "spinning", OK: true})
	out := b.String()
	// end clears the spinner line and prints the finished step after it.
	if i := strings.LastIndex(out, frame); i < 0 || !strings.Contains(out[i+len(frame):], "\r\033[K") ||
		!strings.Contains(out[i:], " 1. spinning") || !strings.HasSuffix(out, "(0.0s)\n") {
		t.Fatalf("TTY output %q", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the spinner goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWorkspace(t *testing.T) {
	t.Parallel()
	work, data, cleanup, err := workspace("")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(data)
	if filepath.Dir(work) != root {
		t.Errorf("temporary work %s and data %s are not side by side", work, data)
	}
	cleanup()
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cleanup left %s: %v", root, err)
	}

	fresh := filepath.Join(t.TempDir(), "fresh")
	work, data, _, err = workspace(fresh)
	if err != nil || data != fresh || work != filepath.Join(fresh, "demo-work") {
		t.Fatalf("fresh --data: %s %s %v", work, data, err)
	}
	for name, file := range map[string]string{"store": "smki.db", "earlier run": "demo-work"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, file), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := workspace(dir); !errors.Is(err, ErrUsage) {
			t.Errorf("%s: %v, want ErrUsage", name, err)
		}
	}
}

// TestPlayStopsAtFirstFailure: one misbehaving step fails the run, names
// itself and why, and nothing after it runs.
func TestPlayStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	var ran []int
	mk := func(n int, err error) step {
		return step{title: fmt.Sprint("step ", n), run: func(_ context.Context, s *Step) error {
			ran = append(ran, n)
			s.Detail = "did " + fmt.Sprint(n)
			return err
		}}
	}
	var b bytes.Buffer
	rep := newReporter(&b, modePlain, fixedClock())
	got := play(context.Background(), rep, fixedClock(), []step{mk(1, nil), mk(2, errors.New("E_X: wrong code")), mk(3, nil)},
		func() []string { return []string{"last server line"} })
	if got.OK || !strings.Contains(got.Failed, "step 2 (step 2): E_X: wrong code") {
		t.Fatalf("report %+v", got)
	}
	if fmt.Sprint(ran) != "[1 2]" {
		t.Fatalf("ran %v, want [1 2]", ran)
	}
	steps := rep.rep.Steps
	if len(steps) != 2 || !steps[0].OK || steps[1].OK || steps[1].Error != "E_X: wrong code" ||
		!slices.Contains(steps[1].Lines, "  last server line") {
		t.Fatalf("steps %+v", steps)
	}

	// Interrupted: the step reports the interruption, not the server log.
	ctx, cancel := context.WithCancel(context.Background())
	got = play(ctx, newReporter(io.Discard, modePlain, fixedClock()), fixedClock(), []step{
		{title: "long", run: func(context.Context, *Step) error { cancel(); return nil }}, mk(9, nil)},
		func() []string { t.Error("server log read on interrupt"); return nil })
	if got.OK || !strings.Contains(got.Failed, "interrupted") {
		t.Fatalf("interrupted run: %+v", got)
	}

	all := play(context.Background(), newReporter(io.Discard, modePlain, fixedClock()), fixedClock(), []step{mk(4, nil), mk(5, nil)}, nil)
	if !all.OK || all.Failed != "" {
		t.Fatalf("all passing: %+v", all)
	}
}

func TestRunNeedsBinary(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := Run(context.Background(), Options{Out: &b}); !errors.Is(err, ErrUsage) {
		t.Fatalf("Run without Exe: %v", err)
	}
	if b.Len() != 0 {
		t.Fatalf("wrote %q", b.String())
	}
}

// fakeServe writes a script that stands in for `smki serve`: script is
// its body, after $ready is set to the --ready-file argument (the last).
func fakeServe(t *testing.T, script string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		need.Missing(t, "a POSIX shell", "fake servers are sh scripts; GOOS is windows")
	}
	need.Tool(t, "sh", "dash")
	f := filepath.Join(t.TempDir(), "fake-smki")
	body := "#!/bin/sh\nfor a; do ready=$a; done\n" + script + "\n"
	if err := os.WriteFile(f, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		script  string
		cancel  bool
		wantErr string // "" for a server that starts
	}{
		{"ready, then stopped by SIGTERM", `printf 127.0.0.1:4321 > "$ready"; exec sleep 60`, false, ""},
		{"exits before ready", `echo "no CA" >&2; exit 3`, false, "exited before it was ready"},
		{"never ready", `exec sleep 60`, false, "not ready after"},
		{"interrupted", `exec sleep 60`, true, "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exe, work := fakeServe(t, tt.script), t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			srv, err := startServer(ctx, exe, filepath.Join(work, "data"), work, 500*time.Millisecond)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want ErrServer with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if srv.addr != "127.0.0.1:4321" {
				t.Errorf("addr %q", srv.addr)
			}
			if err := srv.stop(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			select {
			case <-srv.done:
			default:
				t.Fatal("stop returned with the server still running")
			}
			if err := srv.stop(time.Second); err != nil {
				t.Fatalf("second stop: %v", err)
			}
		})
	}
}
