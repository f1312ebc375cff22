package ra

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
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
