package ra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/smki/smki/ra/ratest"
)

// TestBackupStoreThroughWrappers: the Service wraps its store (feed wake-ups,
// access CRL); the backup capability is still found on the engine, the copy
// is written in full and audited, and a refusal writes nothing.
func TestBackupStoreThroughWrappers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var buf bytes.Buffer
	var want int64
	n, err := e.svc.BackupStore(ctx, e.admin, func(size int64) (io.Writer, error) { want = size; return &buf, nil })
	if err != nil {
		t.Fatalf("BackupStore on bbolt: %v", err)
	}
	if n == 0 || n != want || int64(buf.Len()) != n {
		t.Fatalf("backup wrote %d bytes, announced %d, buffer holds %d", n, want, buf.Len())
	}

	party := e.party("90-B3-D5-1F-30-01-00-00", "Supplier A")
	sro := e.officer(e.admin, "sro-b", KindSRO, party)
	called := false
	_, err = e.svc.BackupStore(ctx, sro, func(int64) (io.Writer, error) { called = true; return io.Discard, nil })
	if !errors.Is(err, ErrForbidden) || called {
		t.Fatalf("BackupStore by an SRO: err %v, writer asked for: %v", err, called)
	}
}

// failAfter is a backup destination that takes n bytes and then fails,
// as a connection does when the operator's client goes away mid-copy.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, errors.New("connection reset by peer")
}

// TestBackupCutShortIsAudited: a copy of the whole store is audited before
// its first byte leaves, and its end is audited whether it completed or
// was cut short, with the bytes that left. Before, only a completed backup
// was audited, after it had left: a copy stopped after most of the store
// had been read left no trace in the audit chain.
func TestBackupCutShortIsAudited(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		w       func() io.Writer
		wantErr bool
		end     string // the end record's detail, before its byte count
	}{
		{"completed", func() io.Writer { return io.Discard }, false, "bytes="},
		{"cut short", func() io.Writer { return &failAfter{n: 4096} }, true, "stopped after bytes=4096: "},
		{"refused by the destination", func() io.Writer { return nil }, true, "stopped after bytes=0: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			before := ratest.AuditLen(t, e.st)
			n, err := e.svc.BackupStore(ctx, e.admin, func(int64) (io.Writer, error) {
				// The "begun" record is in the chain before the first byte is asked for.
				tail := ratest.AuditTail(t, e.st, 1)
				if len(tail) != 1 || tail[0].Action != string(ActBackupStore) || tail[0].Detail != "begun" || tail[0].Result != "allowed" {
					t.Errorf("audit tail when the copy starts: %+v, want the allowed %s record 'begun'", tail, ActBackupStore)
				}
				if w := tc.w(); w != nil {
					return w, nil
				}
				return nil, errors.New("no room at the destination")
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("BackupStore: n=%d err=%v, want error %v", n, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInternal) {
				t.Errorf("BackupStore error %v is not E_RA_INTERNAL", err)
			}
			all := ratest.AuditTail(t, e.st, 1<<30)[before:]
			if len(all) != 2 {
				t.Fatalf("backup wrote %d audit records, want 2 (begun, end): %+v", len(all), all)
			}
			end := all[1]
			if end.Action != string(ActBackupStore) || !strings.HasPrefix(end.Detail, tc.end) {
				t.Fatalf("end record %+v, want detail starting %q", end, tc.end)
			}
			if !tc.wantErr && end.Detail != fmt.Sprintf("bytes=%d", n) {
				t.Errorf("end record detail %q, want bytes=%d", end.Detail, n)
			}
		})
	}
}
