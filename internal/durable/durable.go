// Package durable owns how smki writes a small file so that it survives a
// crash: created exclusively (a key or credential file is never
// overwritten) or replaced atomically (a reader sees the old content or the
// new, never a torn mix), and in both cases synced, file and directory,
// before the call returns. It holds no policy about what the files are;
// errors are the operating system's, for the caller to wrap in its code,
// and Reason says why one failed in smki's words. It imports only the
// standard library.
package durable

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
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
	return ReplaceFrom(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ReplaceFrom is Replace for content too large to hold at once: fill
// writes it into the temporary file (unbuffered: wrap w in a
// bufio.Writer and flush it). If fill or anything after fails, the
// temporary file is removed and path is left as it was.
func ReplaceFrom(path string, mode os.FileMode, fill func(w io.Writer) error) error {
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
	if err := fillSyncClose(f, fill); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// MkdirAll makes dir and any missing parents with mode, as os.MkdirAll
// does, and syncs the parent of each directory it made, so that they
// survive a crash and the files then written in them (WriteNew, Replace)
// can be found.
func MkdirAll(dir string, mode os.FileMode) error {
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		made = append(made, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	for i := len(made) - 1; i >= 0; i-- {
		if err := SyncDir(filepath.Dir(made[i])); err != nil {
			return err
		}
	}
	return nil
}

func writeSyncClose(f *os.File, data []byte) error {
	return fillSyncClose(f, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func fillSyncClose(f *os.File, fill func(io.Writer) error) error {
	err := fill(f)
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

// Reason is why a file operation failed, in smki's words, for a message
// that names the path itself (no raw operating-system text reaches a
// user): the one wording of file errors, for the CLI and the server.
func Reason(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "its directory does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "the disk is full"
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTEMPTY):
		return "a directory is in the way"
	case errors.Is(err, syscall.ENOTDIR):
		// a path component that should be a directory is a file
		return "a file is in the way on its path"
	case errors.Is(err, syscall.EEXIST):
		// an exclusive create, or a directory made, where a file (or a
		// directory) of that name is already there
		return "a file of that name is already there"
	case errors.Is(err, syscall.EROFS):
		return "the file system is read-only"
	}
	return "the file system refused it"
}
