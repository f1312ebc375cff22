package storecmd

import (
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/server"
	"github.com/smki/smki/store"
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
