package storecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/server"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/migrate"
)

func storeBackupCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "backup",
		Usage: "download a consistent online copy of the running server's bbolt store (ra-operator)",
		Description: `The server writes the copy inside one read transaction (bbolt's Tx.WriteTo)
while it keeps serving: the copy holds every change committed before it began.
The file is written next to --out, checked as 'smki store verify' checks it
(opens, counts, walks the audit chain) and only then renamed to --out; an
existing --out is never overwritten. Restore: stop the server, put the file
in place as DATA/smki.db (with the same data directory's keys), start it.
For PostgreSQL use pg_dump (docs/operations.md).

Example:
   smki store backup --ra https://ra.example.org:8443 --officer ~/smki/admin --out /backup/smki-$(date +%F).db`,
		Flags: append(verb.ClientFlags(),
			&ucli.StringFlag{Name: "out", Required: true, Usage: "file to write the copy to (must not exist)"}),
		Action: storeBackup,
	}
}

// errBackupWrite: the --out file could not be written (its directory, its
// permissions, a full disk); nothing is kept.
var errBackupWrite = errors.New("E_BACKUP_WRITE")

// backupWriteErr says that the copy could not be written to out, why (in
// smki's words, not the operating system's), and what to do.
func backupWriteErr(out string, n int64, err error) error {
	after := ""
	if n > 0 {
		after = fmt.Sprintf(" after %d bytes", n)
	}
	return fmt.Errorf("%w: the copy could not be written to %s%s: %s; nothing was kept: free space or give --out another path",
		errBackupWrite, out, after, verb.IOReason(err))
}

// fileWriter remembers why the file refused a write, so that a full disk
// is told apart from the RA going away mid-copy.
type fileWriter struct {
	f   *os.File
	n   int64
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	k, err := w.f.Write(p)
	w.n += int64(k)
	if err != nil && w.err == nil {
		w.err = err
	}
	return k, err
}

func storeBackup(c *ucli.Context) error {
	out := c.String("out")
	if _, err := os.Stat(out); err == nil {
		return verb.UsageErr("--out %s exists: name a new file", out)
	}
	return verb.WithClient(c, func(cl *raclient.Client) error {
		n, rep, err := saveBackup(c.Context, out, cl.BackupStore)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return verb.PrintJSON(c, rep)
		}
		fmt.Fprintf(c.App.Writer, "backup %s: %d bytes\n", out, n)
		return printStoreReport(c.App.Writer, rep)
	})
}

// saveBackup writes what fetch sends to out+".partial", syncs and checks
// it (verifyStoreFile), and only then renames it to out. On any failure
// the partial file is removed; one the file system made is
// errBackupWrite, not the RA's.
func saveBackup(ctx context.Context, out string, fetch func(context.Context, io.Writer) (int64, error)) (int64, storeReport, error) {
	part := out + ".partial"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return 0, storeReport{}, verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: %s is there, left by a backup to %s that was interrupted (or is still running): it is not a backup; if no backup is running, remove it and run this again",
			errBackupWrite, part, out))
	}
	if err != nil {
		return 0, storeReport{}, verb.WithCode(verb.ExitUsage, backupWriteErr(part, 0, err))
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(part)
		}
	}()
	w := &fileWriter{f: f}
	n, err := fetch(ctx, w)
	if w.err != nil {
		return n, storeReport{}, backupWriteErr(part, w.n, w.err)
	}
	if err != nil {
		return n, storeReport{}, err
	}
	if err := f.Sync(); err != nil {
		return n, storeReport{}, backupWriteErr(part, n, err)
	}
	if err := f.Close(); err != nil {
		return n, storeReport{}, backupWriteErr(part, n, err)
	}
	rep, err := verifyStoreFile(ctx, part, part)
	os.Remove(part + ".audit") // the empty audit journal opening it made
	if err != nil {
		return n, rep, err
	}
	if err := os.Rename(part, out); err != nil {
		return n, rep, backupWriteErr(out, n, err)
	}
	keep = true
	// The rename, like the file's content, must survive a crash: a
	// backup reported written is there after one.
	if err := durable.SyncDir(filepath.Dir(out)); err != nil {
		return n, rep, backupWriteErr(out, n, err)
	}
	rep.File = out
	return n, rep, nil
}

func storeVerifyCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "verify",
		Usage:     "check a bbolt store file (a backup): it opens, its records count, its audit chain verifies",
		ArgsUsage: "FILE",
		Description: `Prints a count and SHA-256 per record type (as 'smki store digest') and the
audit chain's length and head, checking a working copy in $TMPDIR (the file
is left byte for byte as it was); exits 1 if the file does not open as a store,
is empty, cut short or holds no CA state (E_STORE_CORRUPT), or the chain is
broken (naming the first broken entry).

Example:
   smki store verify /backup/smki-2026-03-01.db`,
		Flags: []ucli.Flag{&ucli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return verb.UsageErr("store verify: give one store file")
			}
			rep, err := verifyCopy(c.Context, c.Args().First())
			if rep.File != "" && c.Bool("json") {
				if perr := verb.PrintJSON(c, rep); perr != nil {
					return perr
				}
			} else if rep.File != "" {
				if perr := printStoreReport(c.App.Writer, rep); perr != nil {
					return perr
				}
			}
			return err
		},
	}
}

// storeReport is what verifying a store file found.
type storeReport struct {
	File    string            `json:"file"`
	Records []migrate.Summary `json:"records"`
	Audit   ra.AuditReport    `json:"audit"`
}

// verifyCopy is verifyStoreFile on a copy of the file at path in the
// temporary directory ($TMPDIR), which it removes: opening a store writes
// to it (its layout version, its audit journal beside it, a newer
// layout's upgrade), and a backup must come out of a check as it went in,
// byte for byte, still restorable by the smki that wrote it.
func verifyCopy(ctx context.Context, path string) (storeReport, error) {
	src, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return storeReport{}, verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: there is no store file at %s: check the path", errStoreMissing, path))
	}
	if err != nil {
		return storeReport{}, verb.UsageErr("store file %s: %s", path, verb.IOReason(err))
	}
	defer src.Close()
	// The lock a reader of the file takes (bbolt's shared one): a server
	// writing it holds it exclusively, and a copy taken meanwhile could be
	// torn.
	for deadline := time.Now().Add(LockWait); ; time.Sleep(50 * time.Millisecond) {
		err := syscall.Flock(int(src.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return storeReport{}, fmt.Errorf("%s: file is in use by another process (waited %v): %w: stop the smki serve using it first (a bbolt store is one process's), or take a copy from the running server with smki store backup",
				path, LockWait, bolt.ErrLocked)
		}
	}
	dir, err := os.MkdirTemp("", "smki-verify-")
	if err != nil {
		return storeReport{}, fmt.Errorf("%w: a working copy of %s could not be made in %s: %s: set TMPDIR to a directory with room", errBackupWrite, path, os.TempDir(), verb.IOReason(err))
	}
	defer os.RemoveAll(dir)
	cp := filepath.Join(dir, filepath.Base(path))
	dst, err := os.OpenFile(cp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = io.Copy(dst, src)
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return storeReport{}, fmt.Errorf("%w: a working copy of %s could not be made in %s: %s: set TMPDIR to a directory with room", errBackupWrite, path, dir, verb.IOReason(err))
	}
	return verifyStoreFile(ctx, cp, path)
}

// verifyStoreFile opens path as a bbolt store and checks it (its messages
// call it name): counts and
// digests per record type, and the audit chain walked from the start. A
// broken chain returns the report and an E_RA_AUDIT_BROKEN error.
func verifyStoreFile(ctx context.Context, path, name string) (storeReport, error) {
	rep := storeReport{}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rep, verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: there is no store file at %s: check the path", errStoreMissing, name))
	}
	if err != nil {
		return rep, verb.UsageErr("store file %s: %s", name, verb.IOReason(err))
	}
	if fi.Size() == 0 { // not opened: bbolt would make it a new, empty store
		return rep, fmt.Errorf("%w: %s is empty: not a store (an incomplete copy?)", store.ErrCorrupt, name)
	}
	st, err := openSpec(ctx, server.StoreSpec{Engine: "bbolt", Target: path}, LockWait)
	if errors.Is(err, bolt.ErrLocked) {
		return rep, err
	}
	if err != nil {
		return rep, fmt.Errorf("%s does not open as a smki store (%w); is it a bbolt backup?", name, err)
	}
	defer st.Close()
	rep.File = name
	if rep.Records, err = migrate.Digest(ctx, st); err != nil {
		return rep, fmt.Errorf("reading %s: %w", name, err)
	}
	rep.Audit, err = ra.WalkAudit(ctx, st)
	rep.Audit.OK = err == nil
	if err != nil {
		rep.Audit.Error = err.Error()
		if !errors.Is(err, ra.ErrAuditBroken) {
			err = fmt.Errorf("%w: %w", ra.ErrAuditBroken, err)
		}
		return rep, err
	}
	if i := slices.IndexFunc(rep.Records, func(s migrate.Summary) bool { return s.Type == "meta" }); i >= 0 && rep.Records[i].Count == 0 {
		return rep, fmt.Errorf("%w: %s is a store without CA state (an empty store, such as a migration killed before its copy committed leaves): not a backup of a smki server", store.ErrCorrupt, name)
	}
	return rep, nil
}

func printStoreReport(w io.Writer, rep storeReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tCOUNT\tSHA-256")
	for _, s := range rep.Records {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Type, s.Count, s.Hash)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Audit.OK {
		_, err := fmt.Fprintf(w, "audit chain intact: %d entries, head %s\n", rep.Audit.Entries, rep.Audit.Head)
		return err
	}
	_, err := fmt.Fprintf(w, "audit chain BROKEN at entry %d after %d good entries: %s\n", rep.Audit.BrokenAt, rep.Audit.Entries, rep.Audit.Error)
	return err
}
