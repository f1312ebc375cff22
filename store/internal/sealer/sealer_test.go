package sealer

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestFailuresLoggedAndCounted: a failing seal is counted every time and
// logged at the start of a streak, then at most once per LogEvery while
// it lasts, with stable keys; its end is logged once. A sealer that fails
// every 100 ms must neither stay silent nor flood the journal.
func TestFailuresLoggedAndCounted(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Loop{log: log, engine: "bbolt", now: func() time.Time { return now }}
	fail := errors.New("disk on fire")
	steps := []struct {
		after time.Duration
		err   error
	}{
		{0, nil},
		{100 * time.Millisecond, fail}, // logged: a streak starts
		{100 * time.Millisecond, fail}, // counted only
		{30 * time.Second, fail},       // counted only
		{31 * time.Second, fail},       // logged: LogEvery passed
		{100 * time.Millisecond, fail}, // counted only
		{100 * time.Millisecond, nil},  // logged: recovered
		{100 * time.Millisecond, nil},
	}
	for _, s := range steps {
		now = now.Add(s.after)
		l.record(s.err)
	}
	if got := l.Failures(); got != 5 {
		t.Errorf("Failures() = %d, want 5", got)
	}
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	want := []struct {
		level, msg string
		failures   float64
	}{
		{"ERROR", "audit seal failed", 1},
		{"ERROR", "audit seal failed", 4},
		{"WARN", "audit seal recovered", 5},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		m := lines[i]
		if m["level"] != w.level || m["msg"] != w.msg || m["engine"] != "bbolt" || m["failures"] != w.failures {
			t.Errorf("line %d = %v; want level %s msg %q engine bbolt failures %v", i, m, w.level, w.msg, w.failures)
		}
		if w.msg == "audit seal failed" && m["err"] != "disk on fire" {
			t.Errorf("line %d err = %v, want the seal's error", i, m["err"])
		}
	}
}

// TestNilLoggerCounts: without a logger failures are still counted.
func TestNilLoggerCounts(t *testing.T) {
	l := Start(time.Millisecond, func() error { return errors.New("x") }, nil, "postgres")
	deadline := time.Now().Add(5 * time.Second)
	for l.Failures() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	l.Stop()
	if l.Failures() < 2 {
		t.Fatalf("Failures() = %d after failing seals, want >= 2", l.Failures())
	}
}
