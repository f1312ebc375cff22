package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/ca"
)

// TestARLWatch: a stale or expired ARL is warned about when it turns so
// and then once per arlWarnEvery, not on every poll; a fresh ARL again is
// logged once; the offline-root warning names the ceremony.
func TestARLWatch(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		at    time.Duration
		state ca.ARLState
		want  string // substring of the one line logged, "" for none
	}{
		{0, ca.ARLOK, ""},
		{time.Minute, ca.ARLOK, ""},
		{2 * time.Minute, ca.ARLStale, `level=WARN msg="ARL past half its lifetime; the root is offline`},
		{3 * time.Minute, ca.ARLStale, ""},
		{arlWarnEvery + time.Minute, ca.ARLStale, ""},
		{arlWarnEvery + 2*time.Minute, ca.ARLStale, "ARL past half its lifetime"},
		{arlWarnEvery + 3*time.Minute, ca.ARLExpired, "ARL expired"},
		{arlWarnEvery + 4*time.Minute, ca.ARLExpired, ""},
		{arlWarnEvery + 5*time.Minute, ca.ARLOK, "level=INFO msg=\"ARL fresh again\""},
		{arlWarnEvery + 6*time.Minute, ca.ARLOK, ""},
	}
	var w arlWatch
	for i, s := range steps {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		w.observe(ca.ARLStatus{State: s.state, Number: 7}, true, t0.Add(s.at), log)
		got := strings.TrimSpace(buf.String())
		if s.want == "" && got != "" || s.want != "" && (!strings.Contains(got, s.want) || strings.Count(got, "\n") > 0) {
			t.Errorf("step %d (%s at +%v): logged %q, want %q", i, s.state, s.at, got, s.want)
		}
	}
}
