package bolt

import (
	"context"
	"fmt"
	"io"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
)

var _ store.Backuper = (*Store)(nil)

// Backup implements store.Backuper with bbolt's Tx.WriteTo inside one read
// transaction: the copy is a valid bbolt file as of that transaction,
// written while writers carry on. (A writer that must grow the file waits
// for the copy to finish, since bbolt remaps only with no reader open.)
// The audit journal is sealed first: its records (audited reads) are
// durable beside the file, not in it, and the copy carries only the file.
func (s *Store) Backup(ctx context.Context, start func(size int64) (io.Writer, error)) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if err := s.seal(); err != nil {
		return 0, fmt.Errorf("bolt: backup: sealing the audit journal: %w", err)
	}
	var n int64
	err := s.db.View(func(btx *bbolt.Tx) error {
		w, err := start(btx.Size())
		if err != nil {
			return err
		}
		n, err = btx.WriteTo(w)
		if err != nil {
			return fmt.Errorf("bolt: backup: %w", err)
		}
		return nil
	})
	return n, err
}
