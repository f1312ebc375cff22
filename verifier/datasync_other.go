//go:build !linux

package verifier

import (
	"errors"
	"os"
)

// datasync is f.Sync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }

// openDirect: direct I/O is used on Linux only; elsewhere the log is
// written through the page cache and synced.
func openDirect(string) (*os.File, error) { return nil, errors.ErrUnsupported }
