package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/postgres"
)

// StoreUsage describes a store spec, for flag and config documentation.
const StoreUsage = "store: bbolt:PATH[?batch=DURATION|off] (default: bbolt:DATA/smki.db; group commit is on: batch adds a window, off turns it off) or a postgres:// URL (several instances may share one database)"

// StorePath is the default bbolt file inside a data directory.
func StorePath(dataDir string) string { return filepath.Join(dataDir, "smki.db") }

// StoreSpec names a store: an engine and its target. Keys, the access CA
// and officer credentials stay in the data directory whatever the engine.
type StoreSpec struct {
	Engine string        // "bbolt" or "postgres"
	Target string        // file path, or connection URL
	Batch  time.Duration // bbolt group-commit window (0: none, commits are still grouped)
	Alone  bool          // bbolt: no group commit, every transaction fsyncs alone
	// Log is where the engine logs a failing background audit seal
	// (nil: failures are only counted, store.AuditSealMonitor).
	Log *slog.Logger
}

// ParseStore reads "bbolt:PATH[?batch=D|off]" or "postgres://..." /
// "postgresql://..."; "" means the bbolt file in dataDir. Errors wrap
// ErrConfig.
func ParseStore(s, dataDir string) (StoreSpec, error) {
	switch {
	case s == "":
		if dataDir == "" {
			return StoreSpec{}, fmt.Errorf("%w: no store: give a data directory, bbolt:PATH or a postgres:// URL", ErrConfig)
		}
		return StoreSpec{Engine: "bbolt", Target: StorePath(dataDir)}, nil
	case strings.HasPrefix(s, "bbolt:"):
		p := strings.TrimPrefix(s, "bbolt:")
		var batch time.Duration
		alone := false
		if i := strings.LastIndex(p, "?batch="); i >= 0 {
			v := p[i+len("?batch="):]
			d, err := time.ParseDuration(v)
			switch {
			case v == "off":
				alone = true
			case err != nil || d < 0:
				return StoreSpec{}, fmt.Errorf("%w: store %s: batch wants a duration such as 2ms, or off", ErrConfig, s)
			}
			p, batch = p[:i], d
		}
		if p == "" {
			return StoreSpec{}, fmt.Errorf("%w: store bbolt: needs a file path", ErrConfig)
		}
		return StoreSpec{Engine: "bbolt", Target: p, Batch: batch, Alone: alone}, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return StoreSpec{Engine: "postgres", Target: s}, nil
	}
	return StoreSpec{}, fmt.Errorf("%w: store %q: want bbolt:PATH or a postgres:// URL", ErrConfig, RedactURL(s))
}

// String names the store without a password, for logs and output.
func (s StoreSpec) String() string {
	if s.Engine == "bbolt" {
		return "bbolt:" + s.Target
	}
	return RedactURL(s.Target)
}

// RedactURL hides the secrets of a URL-shaped connection string: the
// userinfo password and the password-bearing query parameters libpq and
// pgx accept (password, sslpassword), so a store URL can be printed, logged
// or put in an error message.
func RedactURL(s string) string {
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

// Open opens the store. lockWait bounds the wait for bbolt's file lock
// (0: bbolt's default).
func (s StoreSpec) Open(ctx context.Context, lockWait time.Duration) (store.Store, error) {
	switch s.Engine {
	case "bbolt":
		opts := []bolt.Option{bolt.WithBatchDelay(s.Batch), bolt.WithLogger(s.Log)}
		if s.Alone {
			opts = append(opts, bolt.WithoutGroupCommit())
		}
		if lockWait > 0 {
			opts = append(opts, bolt.WithLockTimeout(lockWait))
		}
		return bolt.Open(s.Target, opts...)
	case "postgres":
		st, err := postgres.Open(ctx, s.Target, postgres.WithLogger(s.Log))
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", RedactURL(s.Target), err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("%w: unknown store engine %q", ErrConfig, s.Engine)
}
