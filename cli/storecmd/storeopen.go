package storecmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/server"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/postgres"
)

// storeFlag selects the store engine (server.ParseStore).
func StoreFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "store", EnvVars: []string{"SMKI_STORE"}, Usage: server.StoreUsage}
}

// openStoreFlag opens the store named by --store (default: the bbolt file
// in dataDir). A malformed spec is a usage error.
func OpenStore(c *ucli.Context, dataDir string, lockWait time.Duration) (store.Store, server.StoreSpec, error) {
	spec, err := server.ParseStore(c.String("store"), dataDir)
	if err != nil {
		return nil, spec, verb.WithCode(verb.ExitUsage, err)
	}
	st, err := spec.Open(c.Context, lockWait)
	return st, spec, err
}

// OpenNew is OpenStore for a verb that fills a new store (smki ca init).
// Besides the store it returns undo, for when the verb failed: run after
// the store is closed, it removes the bbolt file and its audit journal if
// this open created them, so a failed verb leaves no empty store that a
// later run would take for one in use. A file that was there before, and
// a PostgreSQL store (its schema is the database's), are left as they are.
func OpenNew(c *ucli.Context, dataDir string) (st store.Store, undo func(), err error) {
	spec, err := server.ParseStore(c.String("store"), dataDir)
	if err != nil {
		return nil, nil, verb.WithCode(verb.ExitUsage, err)
	}
	var made []string
	if spec.Engine == "bbolt" {
		for _, f := range []string{spec.Target, spec.Target + ".audit"} {
			if _, err := os.Lstat(f); errors.Is(err, fs.ErrNotExist) {
				made = append(made, f)
			}
		}
	}
	st, err = spec.Open(c.Context, 0)
	undo = func() {
		for _, f := range made {
			_ = os.Remove(f)
		}
	}
	if err != nil {
		undo()
		return nil, nil, err
	}
	return st, undo, nil
}

// errStoreMissing: a verb that reads a store was given a bbolt file that
// is not there.
var errStoreMissing = errors.New("E_STORE_MISSING")

// openExisting opens spec for a verb that reads a store which must exist
// (store digest, audit verify, store migrate's source). A bbolt path with
// no file is refused, and nothing is created: opened, bbolt would make an
// empty store there, and the verb would report on nothing ("audit chain
// OK: 0 entries" for a misspelt path, a migration of nothing).
func openExisting(ctx context.Context, spec server.StoreSpec, lockWait time.Duration) (store.Store, error) {
	if spec.Engine == "bbolt" {
		if _, err := os.Stat(spec.Target); errors.Is(err, fs.ErrNotExist) {
			return nil, verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: there is no store file at %s (nothing was created): check the path (or --data)", errStoreMissing, spec.Target))
		}
	}
	return openSpec(ctx, spec, lockWait)
}

// openSpec opens spec; a bbolt file another process holds (a running smki
// serve, most likely) says what to do instead.
func openSpec(ctx context.Context, spec server.StoreSpec, lockWait time.Duration) (store.Store, error) {
	st, err := spec.Open(ctx, lockWait)
	if errors.Is(err, bolt.ErrLocked) {
		return nil, fmt.Errorf("%w: stop the smki serve using it first (a bbolt store is one process's), or ask the running server: smki store backup for a copy, smki audit verify --ra for its chain", err)
	}
	return st, err
}

// openExistingFlag is openExisting for the store --store names (default:
// the bbolt file in dataDir).
func openExistingFlag(c *ucli.Context, dataDir string, lockWait time.Duration) (store.Store, error) {
	spec, err := server.ParseStore(c.String("store"), dataDir)
	if err != nil {
		return nil, verb.WithCode(verb.ExitUsage, err)
	}
	return openExisting(c.Context, spec, lockWait)
}

// openForAudit opens the store --store or --data names for smki audit
// verify and export, which read it only: a PostgreSQL store read-only
// (postgres.OpenReadOnly: an auditor's SELECT-only role suffices, and the
// audit changes nothing it audits; entries not yet sealed into the chain
// are left to the RA, which seals them within a second), a bbolt one as
// openExisting does.
func openForAudit(c *ucli.Context, dataDir string, lockWait time.Duration) (store.Store, error) {
	spec, err := server.ParseStore(c.String("store"), dataDir)
	if err != nil {
		return nil, verb.WithCode(verb.ExitUsage, err)
	}
	if spec.Engine == "postgres" {
		return postgres.OpenReadOnly(c.Context, spec.Target)
	}
	return openExisting(c.Context, spec, lockWait)
}
