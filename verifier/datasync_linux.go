package verifier

import (
	"os"
	"syscall"
)

// datasync makes f's written data durable with fdatasync: the file's size
// (which an append changes) is flushed with it, timestamps are not, which
// saves the inode write an fsync would add.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// openDirect opens path for writes that bypass the page cache and are
// durable when they return (O_DIRECT|O_DSYNC): one request to the disk,
// plus a cache flush, per write. Writes must be aligned to logBlock in
// memory, offset and length. It fails (EINVAL) where the file system does
// not support direct I/O.
func openDirect(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|syscall.O_DIRECT|syscall.O_DSYNC, 0)
}
