package storetest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// LogBuffer is a log destination (slog.NewJSONHandler(&buf, nil)) that an
// engine's sealer goroutine writes while the test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SealFailureSeen checks what an operator sees when an engine's
// background seal fails: s was opened with a short seal delay and a JSON
// logger writing to logs; breakSeal makes every seal fail, mendSeal lets
// them succeed again. While sealing fails, each failure is counted
// (AuditSealFailures), the streak is logged once ("audit seal failed"
// with engine), and an audited entry stays in the backlog with its time;
// once mended, the recovery is logged ("audit seal recovered") and the
// backlog empties.
func SealFailureSeen(t *testing.T, s interface {
	store.Store
	store.AuditSealMonitor
}, engine string, logs *LogBuffer, breakSeal, mendSeal func()) {
	t.Helper()
	ctx := context.Background()
	breakSeal()
	at := base.Add(-time.Hour)
	noErr(t, "Audit", s.Audit(ctx, store.AuditEntry{Time: at, Actor: "ra-1", Action: "read", Subject: "serial-1", Result: "ok"}))
	waitFor(t, "two failed seals", func() bool { return s.AuditSealFailures() >= 2 })
	if n, oldest, err := s.AuditBacklog(ctx); err != nil || n != 1 || !oldest.Equal(at) {
		t.Fatalf("AuditBacklog while sealing fails = %d, %v, %v; want 1, %v", n, oldest, err, at)
	}
	if got := strings.Count(logs.String(), `"msg":"audit seal failed"`); got != 1 || !strings.Contains(logs.String(), `"engine":"`+engine+`"`) {
		t.Fatalf("%d 'audit seal failed' lines naming engine %s for a streak shorter than a minute, want 1:\n%s", got, engine, logs.String())
	}
	mendSeal()
	waitFor(t, "the recovery logged", func() bool { return strings.Contains(logs.String(), `"msg":"audit seal recovered"`) })
	if n, oldest, err := s.AuditBacklog(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("AuditBacklog once sealed = %d, %v, %v; want 0, the zero time", n, oldest, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
	}
}
