package ra

import (
	"context"
	"fmt"
	"io"

	"github.com/smki/smki/store"
)

// BackupStore writes an online, consistent copy of the whole store for an
// ra-operator (store.backup): start receives the copy's size and returns
// where to write it. The engine must be a store.Backuper (bbolt); on
// PostgreSQL it is ErrBackupUnsupported (pg_dump is the tool there).
//
// A backup is audited twice: "begun", committed with the authorisation
// before the copy's first byte is read (so the copy itself holds it), and
// its end, "bytes=N" when the copy was written in full or "stopped after
// bytes=N: why" when the destination refused it or went away: a copy of
// the store that leaves in part has left. A refusal is audited as one.
func (s *Service) BackupStore(ctx context.Context, a Actor, start func(size int64) (io.Writer, error)) (int64, error) {
	var b store.Backuper
	err := s.change(ctx, a, ActBackupStore, "store", func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActBackupStore, Target{}); err != nil {
			return "", err
		}
		var ok bool
		if b, ok = s.engine.(store.Backuper); !ok { // the capability is the engine's, not a wrapper's
			return "", fmt.Errorf("%w: this store engine has no online backup; for PostgreSQL use pg_dump (docs/operations.md)", ErrBackupUnsupported)
		}
		return "begun", nil
	})
	if err != nil {
		return 0, err
	}
	var sent countingWriter
	n, err := b.Backup(ctx, func(size int64) (io.Writer, error) {
		w, err := start(size)
		if err != nil {
			return nil, err
		}
		sent.w = w
		return &sent, nil
	})
	detail := fmt.Sprintf("bytes=%d", n)
	if err != nil {
		detail = fmt.Sprintf("stopped after bytes=%d: %v", sent.n, err)
		err = fmt.Errorf("%w: backup: %w", ErrInternal, err)
	}
	if aerr := s.appendAfterReads(ctx, s.entryOf(a, ActBackupStore, "store", "allowed", detail)); aerr != nil && err == nil {
		err = fmt.Errorf("%w: audit: %w", ErrInternal, aerr)
	}
	return n, err
}

// countingWriter counts the bytes its writer took.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}
