package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/postgres"
)

// storeFlag selects the store engine. Keys, the access CA and officer
// credentials stay in the data directory whatever the engine.
func storeFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "store", EnvVars: []string{"SMKI_STORE"},
		Usage: "store: bbolt:PATH[?batch=DURATION] (default: bbolt:DATA/smki.db; batch turns on group commit) or a postgres:// URL (several instances may share one database)"}
}

// storeSpec is a parsed --store value.
type storeSpec struct {
	engine string        // "bbolt" or "postgres"
	target string        // file path, or connection URL
	batch  time.Duration // bbolt group-commit window (0: off)
}

// parseStoreSpec reads "bbolt:PATH" or "postgres://..." /
// "postgresql://..."; "" means the bbolt file in dataDir.
func parseStoreSpec(s, dataDir string) (storeSpec, error) {
	switch {
	case s == "":
		if dataDir == "" {
			return storeSpec{}, usageErr("no store: --store bbolt:PATH or postgres://...")
		}
		return storeSpec{engine: "bbolt", target: storePath(dataDir)}, nil
	case strings.HasPrefix(s, "bbolt:"):
		p := strings.TrimPrefix(s, "bbolt:")
		var batch time.Duration
		if i := strings.LastIndex(p, "?batch="); i >= 0 {
			d, err := time.ParseDuration(p[i+len("?batch="):])
			if err != nil || d < 0 {
				return storeSpec{}, usageErr("--store %s: batch wants a duration such as 2ms", s)
			}
			p, batch = p[:i], d
		}
		if p == "" {
			return storeSpec{}, usageErr("--store bbolt: needs a file path")
		}
		return storeSpec{engine: "bbolt", target: p, batch: batch}, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return storeSpec{engine: "postgres", target: s}, nil
	}
	return storeSpec{}, usageErr("--store %q: want bbolt:PATH or a postgres:// URL", redactURL(s))
}

// String names the store without a password, for logs and output.
func (s storeSpec) String() string {
	if s.engine == "bbolt" {
		return "bbolt:" + s.target
	}
	return redactURL(s.target)
}

// redactURL hides the secrets of a URL-shaped connection string: the
// userinfo password and the password-bearing query parameters libpq and
// pgx accept (password, sslpassword), so a store URL can be printed, logged
// or put in an error message.
func redactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest, query := s[i+3:], ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest, query = rest[:q], rest[q:]
	}
	// The userinfo ends at the last '@' before the path: a password may
	// itself hold an unescaped '@'.
	hostEnd := len(rest)
	if sl := strings.IndexByte(rest, '/'); sl >= 0 {
		hostEnd = sl
	}
	if at := strings.LastIndexByte(rest[:hostEnd], '@'); at >= 0 {
		cred := rest[:at]
		if c := strings.IndexByte(cred, ':'); c >= 0 {
			cred = cred[:c] + ":xxxxx"
		}
		rest = cred + rest[at:]
	}
	return s[:i+3] + rest + redactQuery(query)
}

// redactQuery replaces the values of password parameters in a "?a=b&c=d"
// query, leaving the rest byte for byte.
func redactQuery(q string) string {
	if q == "" {
		return q
	}
	parts := strings.Split(q[1:], "&")
	for k, p := range parts {
		name, _, ok := strings.Cut(p, "=")
		switch strings.ToLower(name) {
		case "password", "sslpassword":
			if ok {
				parts[k] = name + "=xxxxx"
			}
		}
	}
	return "?" + strings.Join(parts, "&")
}

// open opens the store. lockWait bounds the wait for bbolt's file lock.
func (s storeSpec) open(ctx context.Context, lockWait time.Duration) (store.Store, error) {
	switch s.engine {
	case "bbolt":
		opts := []bolt.Option{bolt.WithBatchDelay(s.batch)}
		if lockWait > 0 {
			opts = append(opts, bolt.WithLockTimeout(lockWait))
		}
		return bolt.Open(s.target, opts...)
	case "postgres":
		st, err := postgres.Open(ctx, s.target)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", redactURL(s.target), err)
		}
		return st, nil
	}
	return nil, usageErr("unknown store engine %q", s.engine)
}

// openStoreFlag opens the store named by --store (default: the bbolt file
// in dataDir).
func openStoreFlag(c *ucli.Context, dataDir string, lockWait time.Duration) (store.Store, storeSpec, error) {
	spec, err := parseStoreSpec(c.String("store"), dataDir)
	if err != nil {
		return nil, spec, err
	}
	st, err := spec.open(c.Context, lockWait)
	return st, spec, err
}
