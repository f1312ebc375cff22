package server

import (
	"errors"
	"fmt"
	"os"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// storeOpenError says what to do about a bbolt store that cannot be opened
// at start, keeping the store's code (errors.Is still sees it) and leaving
// out bbolt's own text. Errors of other kinds, and of other engines, pass
// through unchanged.
func storeOpenError(spec StoreSpec, err error) error {
	if spec.Engine != "bbolt" {
		return err
	}
	path := spec.Target
	switch {
	case errors.Is(err, bolt.ErrLocked):
		return fmt.Errorf("%w: the store %s is held by another process, most likely another smki serve on this data directory; stop it, or point --data (or --store) elsewhere", bolt.ErrLocked, path)
	case errors.Is(err, store.ErrReadOnly):
		return fmt.Errorf("%w: the store %s is on a read-only file system; mount it read-write, or point --data (or --store) at a writable directory (under systemd with ProtectSystem=strict only the unit's StateDirectory and ReadWritePaths= are writable)", store.ErrReadOnly, path)
	case errors.Is(err, bolt.ErrPermission):
		return fmt.Errorf("%w: the store %s cannot be opened for reading and writing: permission denied; give the user smki serve runs as (uid %d) ownership of it and its directory (chown -R smki DATA), or point --data (or --store) elsewhere", bolt.ErrPermission, path, os.Geteuid())
	}
	return err
}
