package server

import (
	"fmt"
	"log/slog"
	"os"
)

// warnDataDirMode logs a warning when the data directory lets group or
// others in (a mode looser than 0700). It holds the CA and RA key files
// (encrypted with the passphrase) and the bootstrap officers' credentials
// (in the clear, docs/threat-model.md), each written 0600, so a loose
// directory exposes their names and any file a hand copy left readable. It
// is warned about, not refused or changed: the operator may have chosen a
// group on purpose (a backup agent), and a refusal would turn a restart
// into an outage; the warning says how to close it.
func warnDataDirMode(dir string, log *slog.Logger) {
	fi, err := os.Stat(dir)
	if err != nil {
		return // MkdirAll just succeeded; what follows reports the directory's trouble
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		abs := absPath(dir)
		log.Warn("data directory is open to other users; it holds the CA and RA keys and the bootstrap officers' credentials: restrict it to smki's user",
			"path", abs, "mode", fmt.Sprintf("%04o", uint32(m)), "fix", "chmod 700 "+abs)
	}
}
