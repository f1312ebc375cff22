package verb

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/opfile"
)

// EUIFlag reads the EUI-64 in --name; "" is the zero ID unless required.
func EUIFlag(c *ucli.Context, name string, required bool) (eui64.ID, error) {
	s := c.String(name)
	if s == "" {
		if required {
			return eui64.ID{}, UsageErr("--%s is required", name)
		}
		return eui64.ID{}, nil
	}
	id, err := eui64.Parse(s)
	if err != nil {
		return id, UsageErr("--%s: %v", name, err)
	}
	return id, nil
}

// TimeFlag parses an optional RFC 3339 flag.
func TimeFlag(c *ucli.Context, name string) (*time.Time, error) {
	s := c.String(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		// Go's layout text ("2006-01-02T15:04:05Z07:00") is no help to a
		// user; the commonest miss is the zone, which a time must carry.
		return nil, UsageErr("--%s %q is not an RFC 3339 time: give the date, the time and the zone, e.g. 2026-03-15T00:00:00Z (UTC) or 2026-03-15T01:00:00+01:00", name, s)
	}
	return &t, nil
}

// OneArg returns the single positional argument (an ID or a file).
// urfave/cli stops parsing flags at the first positional argument, so
// `smki solr approve ID --officer DIR` would leave --officer unparsed:
// flags after the argument are applied here, as if given before it.
func OneArg(c *ucli.Context, what string) (string, error) {
	args := c.Args().Slice()
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := findFlag(c, name)
		if f == nil {
			return "", UnknownFlagErr(c.Command.HelpName, name)
		}
		if _, isBool := f.(*ucli.BoolFlag); isBool && !hasValue {
			value, hasValue = "true", true
		}
		if !hasValue {
			if i+1 >= len(args) {
				return "", FlagValueMissingErr(c.Command.HelpName, name)
			}
			i++
			value = args[i]
		}
		if err := c.Set(name, value); err != nil {
			return "", FlagValueErr(c.Command.HelpName, name, value)
		}
	}
	if len(pos) != 1 {
		return "", UsageErr("want exactly one %s, got %d arguments", what, len(pos))
	}
	return pos[0], nil
}

// findFlag returns the command's flag called name (or an alias).
func findFlag(c *ucli.Context, name string) ucli.Flag {
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// ReadFileFlag reads the file named by --name, at most limit bytes.
func ReadFileFlag(c *ucli.Context, name string, limit int64) ([]byte, error) {
	return ReadLimited(c.String(name), limit)
}

// ReadLimited reads the file at path through opfile.Read, refusing one
// over limit bytes (E_FILE_TOO_LARGE, by its size before anything is read
// when it is a regular file); every failure is a usage error.
func ReadLimited(path string, limit int64) ([]byte, error) {
	data, err := opfile.Read(path, limit)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, opfile.ErrTooLarge):
		return nil, WithCode(ExitUsage, err)
	}
	return nil, fileErr(path, err)
}

// fileErr is the usage error for a file a verb names that could not be
// opened or read, in smki's words (not "open /x: no such file or
// directory").
func fileErr(path string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return UsageErr("%s could not be opened: there is no such file", path)
	case errors.As(err, &pe) && pe.Op == "read":
		return UsageErr("%s could not be read: %s", path, IOReason(err))
	}
	return UsageErr("%s could not be opened: %s", path, IOReason(err))
}

// MaxInput caps what ReadInput reads: one byte over the verifier's XML
// limit, so an oversized request reaches the verifier and is answered
// MALFORMED.
const MaxInput = 1<<20 + 1

// ReadInput reads the one FILE|- argument, at most MaxInput bytes.
func ReadInput(c *ucli.Context) ([]byte, error) {
	if c.NArg() != 1 {
		return nil, UsageErr("want exactly one FILE or -, got %d arguments", c.NArg())
	}
	var r io.Reader
	if name := c.Args().First(); name == "-" {
		r = c.App.Reader
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fileErr(name, err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxInput))
	if err != nil && c.Args().First() == "-" {
		return nil, UsageErr("standard input could not be read: %s", IOReason(err))
	}
	if err != nil {
		return nil, fileErr(c.Args().First(), err)
	}
	return data, nil
}

// ClockFlag is the clock a verb evaluates by: fixed at the optional RFC
// 3339 --name (smki verify --at), else time.Now.
func ClockFlag(c *ucli.Context, name string) (func() time.Time, error) {
	at, err := TimeFlag(c, name)
	if err != nil || at == nil {
		return time.Now, err
	}
	return func() time.Time { return *at }, nil
}
