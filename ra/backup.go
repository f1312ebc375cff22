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
// PostgreSQL it is ErrBackupUnsupported (pg_dump is the tool there). The
// backup is audited after it is written, with its size; a refusal is
// audited as one.
func (s *Service) BackupStore(ctx context.Context, a Actor, start func(size int64) (io.Writer, error)) (int64, error) {
	err := s.st.View(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		return Authorize(me, ActBackupStore, Target{})
	})
	b, ok := s.engine.(store.Backuper) // the capability is the engine's, not a wrapper's
	if err == nil && !ok {
		err = fmt.Errorf("%w: this store engine has no online backup; for PostgreSQL use pg_dump (docs/operations.md)", ErrBackupUnsupported)
	}
	if err != nil {
		s.refusedOf(ctx, a, ActBackupStore, "store", err)
		return 0, err
	}
	n, err := b.Backup(ctx, start)
	if err != nil {
		return n, fmt.Errorf("%w: backup: %w", ErrInternal, err)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendAudit(s.entryOf(a, ActBackupStore, "store", "allowed", fmt.Sprintf("bytes=%d", n)))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("%w: audit: %w", ErrInternal, err)
	}
	return n, nil
}
