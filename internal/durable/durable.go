// Package durable owns how smki writes a small file so that it survives a
// crash: created exclusively (a key or credential file is never
// overwritten) or replaced atomically (a reader sees the old content or the
// new, never a torn mix), and in both cases synced, file and directory,
// before the call returns. It holds no policy about what the files are;
// errors are the operating system's, for the caller to wrap in its code.
// It imports only the standard library.
package durable

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteNew creates path with data and mode and syncs it and its directory.
// It fails (errors.Is(err, os.ErrExist)) if path exists, and removes what
// it created if writing fails.
func WriteNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := writeSyncClose(f, data); err != nil {
		os.Remove(path)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Replace writes data to path atomically and durably: a temporary file
// beside path, synced, renamed over path, then the directory synced. A
// crash leaves path as it was or as data, never torn.
func Replace(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := writeSyncClose(f, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

func writeSyncClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Remove removes path and syncs its directory, so the removal survives a
// crash.
func Remove(path string) error {
	if err := os.Remove(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncFile flushes path's content to stable storage.
func SyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// SyncDir makes the creations, renames and removals in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
