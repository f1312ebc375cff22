//go:build unix

package verifier

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockStateFile takes the lock that makes path one StateFile's: an
// exclusive flock on path+".lock" (the log itself is replaced at each
// compaction, so a lock on it would not last), held until the returned
// file is closed. The kernel drops it when the process dies, so a
// sidecar killed with SIGKILL leaves nothing to clean up. A lock held by
// another opener (another sidecar on the same --state-file) is refused
// at once, not waited for.
func lockStateFile(path string) (*os.File, error) {
	lp := path + ".lock"
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("in use by another process (%s is locked): another smki verifier serve has this --state-file; "+
				"stop it, or give each sidecar its own state file", lp)
		}
		return nil, fmt.Errorf("lock %s: %v", lp, err)
	}
	return f, nil
}
