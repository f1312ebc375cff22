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
