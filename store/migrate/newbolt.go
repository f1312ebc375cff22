package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// batchRows is how many rows one destination transaction of
// CopyToNewBolt writes: a bbolt write transaction holds every page it
// changes in memory until it commits, so one transaction for the whole
// copy holds the whole store (about 6 kB a certificate: 1.2 GB for
// 200,000, BenchmarkCopyIntoBolt), and batches hold one batch's.
const batchRows = 5000

// CopyToNewBolt copies src into a new bbolt store file at path, which
// must not exist (ErrNotEmpty), as Copy does but in memory bounded by
// batchRows rows rather than by the size of the store. It writes into a
// temporary file beside path in transactions of batchRows rows and, only
// once everything is written, links it in as path (fsynced, no clobber:
// a file that appeared at path meanwhile is not replaced): path appears
// complete or not at all, and on any error the temporary file is removed.
// src is read in one read transaction, a consistent snapshot, as by Copy.
func CopyToNewBolt(ctx context.Context, src store.Store, path string) (err error) {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s exists; nothing was written: give a new bbolt file", ErrNotEmpty, path)
	}
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".migrating-*")
	if err != nil {
		return fmt.Errorf("creating the destination beside %s: %w", path, err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
			os.Remove(tmp + ".audit")
		}
	}()
	dst, err := bolt.Open(tmp)
	if err != nil {
		return err
	}
	err = copyBatched(ctx, src, dst, batchRows)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// The audit journal beside the store: empty, since every entry was
	// imported into the store itself; the new store makes its own.
	if fi, err := os.Stat(tmp + ".audit"); err == nil && fi.Size() != 0 {
		return fmt.Errorf("the copy's audit journal %s is not empty (%d bytes)", tmp+".audit", fi.Size())
	}
	if err := os.Remove(tmp + ".audit"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s appeared during the copy; it was not replaced and the copy was removed", ErrNotEmpty, path)
		}
		return fmt.Errorf("putting the copy in place as %s: %w", path, err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("removing %s once linked as %s: %w", tmp, path, err)
	}
	return durable.SyncDir(dir)
}

// copyBatched is Copy writing into dst in transactions of at most batch
// rows. On error dst holds part of the copy: use it only on a store that
// is thrown away then (CopyToNewBolt's temporary file).
func copyBatched(ctx context.Context, src, dst store.Store, batch int) error {
	if err := src.SealAudit(ctx); err != nil {
		return fmt.Errorf("sealing the source's audit log: %w", err)
	}
	if err := dst.View(ctx, func(dtx store.Tx) error {
		dex, ok := dtx.(store.Exporter)
		if !ok {
			return fmt.Errorf("%w: destination %T has no store.Exporter", ErrUnsupported, dtx)
		}
		return checkEmpty(dtx, dex)
	}); err != nil {
		return err
	}
	var pending []write
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := dst.Update(ctx, func(dtx store.Tx) error {
			im, ok := dtx.(store.Importer)
			if !ok {
				return fmt.Errorf("%w: destination %T has no store.Importer", ErrUnsupported, dtx)
			}
			for _, w := range pending {
				if err := w(dtx, im); err != nil {
					return err
				}
			}
			return nil
		})
		pending = pending[:0]
		return err
	}
	err := src.View(ctx, func(stx store.Tx) error {
		ex, ok := stx.(store.Exporter)
		if !ok {
			return fmt.Errorf("%w: source %T has no store.Exporter", ErrUnsupported, stx)
		}
		return copyAll(stx, ex, func(w write, what string, args ...any) error {
			pending = append(pending, func(dtx store.Tx, im store.Importer) error {
				if err := w(dtx, im); err != nil {
					return fmt.Errorf("writing "+what+": %w", append(args, err)...)
				}
				return nil
			})
			if len(pending) >= batch {
				return flush()
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return flush()
}
