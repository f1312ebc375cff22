package verb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/internal/durable"
)

// PrintJSON writes v to stdout as indented JSON (--json).
func PrintJSON(c *ucli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// Show prints v as JSON with --json, otherwise rows as a table.
func Show(c *ucli.Context, v any, header string, rows [][]string) error {
	if c.Bool("json") {
		return PrintJSON(c, v)
	}
	Table(c, header, rows)
	return nil
}

// Table prints rows under header (tab-separated columns), aligned.
func Table(c *ucli.Context, header string, rows [][]string) {
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

// Rows makes a table's rows, one per element of vs.
func Rows[T any](vs []T, row func(T) []string) [][]string {
	var rows [][]string
	for _, v := range vs {
		rows = append(rows, row(v))
	}
	return rows
}

// WriteOut writes data (a certificate, a CSR, a bundle: nothing secret)
// to path, mode 0644, or to stdout when path is "". The file is replaced
// atomically and durably (durable.Replace): a crash or a full disk leaves
// the old file or the new one, never a torn mix, and a symlink at path is
// replaced, not followed.
func WriteOut(c *ucli.Context, path string, data []byte) error {
	if path == "" {
		_, err := c.App.Writer.Write(data)
		return err
	}
	if err := notAKey("out", path); err != nil {
		return err
	}
	if err := durable.Replace(path, data, 0o644); err != nil {
		return WithCode(ExitUsage, fmt.Errorf("%s could not be written: %s", path, IOReason(err)))
	}
	return nil
}

// CheckOut tells, before anything is sent, whether WriteOut will be able
// to write path (the --out of a verb whose answer is made once, such as
// an issued certificate): its directory exists and takes a new file, and
// path is not a directory. A failure is a usage error in smki's words.
func CheckOut(flag, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return UsageErr("--%s %s is a directory: give a file name", flag, path)
	}
	if err := notAKey(flag, path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return UsageErr("--%s %s: directory %s does not exist: create it or give another path; nothing was sent", flag, path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-")
	if err != nil {
		return UsageErr("--%s %s: cannot create a file in %s (%s): give another path; nothing was sent", flag, path, dir, IOReason(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// MakeOutDir readies dir, the --flag of a verb that writes a credential
// the RA hands over once (a key it generated, a certificate), before
// anything is sent: it is created (mode 0700, with its parents) if
// missing, and must be a directory that takes a new file. A failure is a
// usage error in smki's words. undo removes dir again if MakeOutDir
// created it and it is still empty: call it when the RA refused.
func MakeOutDir(flag, dir string) (undo func(), err error) {
	undo = func() {}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return undo, UsageErr("--%s %s is a file: give a directory to write the credential to; nothing was sent", flag, dir)
	case err != nil:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return undo, UsageErr("--%s %s: the directory could not be created (%s): give another path; nothing was sent", flag, dir, IOReason(err))
		}
		undo = func() { os.Remove(dir) } // only if still empty
	}
	f, err := os.CreateTemp(dir, ".check-")
	if err != nil {
		undo()
		return func() {}, UsageErr("--%s %s: cannot create a file in it (%s): give another path; nothing was sent", flag, dir, IOReason(err))
	}
	f.Close()
	os.Remove(f.Name())
	return undo, nil
}

// notAKey refuses an --flag naming a file that holds a PEM private key:
// what WriteOut writes (a CSR, a certificate) must never replace one, the
// slip of smki csr --key sc.key --out sc.key, after which the key is gone.
func notAKey(flag, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // nothing there (or unreadable: the write will say)
	}
	defer f.Close()
	head, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	for rest := head; ; {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			return nil
		}
		rest = rest[i+len("-----BEGIN "):]
		if typ, _, ok := bytes.Cut(rest, []byte("-----")); ok && bytes.HasSuffix(typ, []byte("PRIVATE KEY")) {
			return UsageErr("--%s %s holds a private key: smki never writes over one; name another file", flag, path)
		}
	}
}

// IOReason is why a file operation failed, in smki's words (no raw
// operating-system text reaches the user): durable.Reason.
func IOReason(err error) string { return durable.Reason(err) }

// WriteNew creates path with data, refusing to replace an existing file.
func WriteNew(path string, data []byte, mode os.FileMode) error {
	if err := durable.WriteNew(path, data, mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return UsageErr("%s exists: smki never replaces it; name another with --out", path)
		}
		return UsageErr("%s could not be written: %s", path, IOReason(err))
	}
	return nil
}

// One is a Call's print for a single answer: one row under header.
func One[T any](c *ucli.Context, header string, row func(T) []string) func(T) error {
	return func(v T) error {
		Table(c, header, [][]string{row(v)})
		return nil
	}
}

// Each is a Call's print for a list: one row per element under header.
func Each[T any](c *ucli.Context, header string, row func(T) []string) func([]T) error {
	return func(vs []T) error {
		Table(c, header, Rows(vs, row))
		return nil
	}
}
