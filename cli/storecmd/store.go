package storecmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/server"
	"github.com/smki/smki/store/migrate"
)

// LockWait is how long offline store verbs wait for bbolt's file lock.
const LockWait = 2 * time.Second

// Command is smki store: backup, verify, migrate and digest.
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "store",
		Usage: "back up, check, summarise and migrate stores",
		Subcommands: []*ucli.Command{storeBackupCommand(), storeVerifyCommand(), {
			Name:  "migrate",
			Usage: "copy everything from one store into an empty one, then prove nothing was lost",
			Description: `Copies meta, issuance intents, certificates with their status, revocations
(with their sequence numbers), CRLs, parties, users, officers, records and the
audit log (with its hashes: the chain still verifies) in one destination
transaction (into a new bbolt file: in batches of 5,000 rows written beside it,
which then becomes the file whole, so memory stays bounded however large the
store), then compares a count and a SHA-256 per record type of both
stores, prints them and exits non-zero on any difference. The destination
must be empty (E_MIGRATE_DESTINATION_NOT_EMPTY), unless it already holds
exactly the source (a migration run again after it finished): then nothing
is written, the comparison is printed and it exits 0. Stop every server on a bbolt
source first; a PostgreSQL source is read in one consistent snapshot.

Examples:
   smki store migrate --from bbolt:./data/smki.db --to 'postgres://smki@db/smki?sslmode=verify-full'
   smki store migrate --from 'postgres://smki@db/smki' --to bbolt:/backup/smki-2026-03-01.db`,
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "from", Required: true, Usage: "source store: bbolt:PATH or postgres://..."},
				&ucli.StringFlag{Name: "to", Required: true, Usage: "destination store (empty): bbolt:PATH or postgres://..."},
				&ucli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			},
			Action: storeMigrate,
		}, {
			Name:  "digest",
			Usage: "print a count and a SHA-256 per record type (engine-independent)",
			Description: `Two stores with the same digest hold the same data, whatever their engines:
use it to check a backup or a migration.

Example:
   smki store digest --store bbolt:./data/smki.db`,
			Flags: []ucli.Flag{
				StoreFlag(),
				&ucli.StringFlag{Name: "data", Usage: "data directory (for the default bbolt store)", EnvVars: []string{"SMKI_DATA"}},
				&ucli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			},
			Action: func(c *ucli.Context) error {
				st, err := openExistingFlag(c, c.String("data"), LockWait)
				if err != nil {
					return verb.WithCode(verb.ExitUsage, err)
				}
				defer st.Close()
				sum, err := migrate.Digest(c.Context, st)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return verb.PrintJSON(c, sum)
				}
				w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "TYPE\tCOUNT\tSHA-256")
				for _, s := range sum {
					fmt.Fprintf(w, "%s\t%d\t%s\n", s.Type, s.Count, s.Hash)
				}
				return w.Flush()
			},
		}},
	}
}

// migrateReport is the JSON output of store migrate.
type migrateReport struct {
	From string `json:"from"`
	To   string `json:"to"`
	OK   bool   `json:"ok"`
	// Already: the destination held exactly the source before this run
	// (an earlier migration finished); nothing was written.
	Already bool              `json:"already_migrated,omitempty"`
	Src     []migrate.Summary `json:"source"`
	Dst     []migrate.Summary `json:"destination"`
	Error   string            `json:"error,omitempty"`
}

func storeMigrate(c *ucli.Context) error {
	from, err := server.ParseStore(c.String("from"), "")
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	to, err := server.ParseStore(c.String("to"), "")
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	if from == to || sameFile(from, to) {
		return verb.UsageErr("--from and --to name the same store")
	}
	src, err := openExisting(c.Context, from, LockWait)
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	defer src.Close()
	copied := false
	if to.Engine == "bbolt" {
		if _, err := os.Stat(filepath.Dir(to.Target)); errors.Is(err, fs.ErrNotExist) {
			return verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: the directory of --to %s does not exist (nothing was created): create it, or give another path", errStoreMissing, to.Target))
		}
		// A new bbolt file is written in bounded batches beside it and
		// put in place whole (migrate.CopyToNewBolt); an existing one is
		// copied into in one transaction, below (refused unless empty).
		if _, err := os.Lstat(to.Target); errors.Is(err, fs.ErrNotExist) {
			if err := migrate.CopyToNewBolt(c.Context, src, to.Target); err != nil {
				return fmt.Errorf("migrating %s to %s: %w", from, to, err)
			}
			copied = true
		}
	}
	dst, err := openSpec(c.Context, to, LockWait)
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	defer dst.Close()
	var cerr error
	if !copied {
		cerr = migrate.Copy(c.Context, src, dst)
	}
	if cerr != nil && !errors.Is(cerr, migrate.ErrNotEmpty) {
		return fmt.Errorf("migrating %s to %s: %w", from, to, cerr)
	}
	rep := migrateReport{From: from.String(), To: to.String()}
	if rep.Src, err = migrate.Digest(c.Context, src); err != nil {
		return err
	}
	if rep.Dst, err = migrate.Digest(c.Context, dst); err != nil {
		return err
	}
	cmp := migrate.Compare(rep.Src, rep.Dst)
	if cerr != nil {
		if cmp != nil {
			// Not a copy of this source: refused, nothing written.
			return fmt.Errorf("migrating %s to %s: %w", from, to, cerr)
		}
		// A migration run again after it finished (killed before its
		// report, say): the destination already holds exactly the
		// source, which the comparison below shows.
		rep.Already = true
	}
	rep.OK = cmp == nil
	if cmp != nil {
		rep.Error = cmp.Error()
	}
	if c.Bool("json") {
		if err := verb.PrintJSON(c, rep); err != nil {
			return err
		}
	} else {
		if rep.Already {
			fmt.Fprintf(c.App.Writer, "%s already holds everything %s holds (an earlier migration finished): nothing written\n", rep.To, rep.From)
		} else {
			fmt.Fprintf(c.App.Writer, "migrated %s -> %s\n", rep.From, rep.To)
		}
		w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "TYPE\tSOURCE\tDESTINATION\tSHA-256 (source)\tMATCH")
		for i, s := range rep.Src {
			d := rep.Dst[i]
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%v\n", s.Type, s.Count, d.Count, s.Hash, s == d)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return cmp
}

// sameFile reports whether two bbolt specs name one file by different
// paths (./a.db and a.db, a symlink): opened twice, the second open would
// wait for the first's lock and fail as if another process held it.
func sameFile(a, b server.StoreSpec) bool {
	if a.Engine != "bbolt" || b.Engine != "bbolt" {
		return false
	}
	fa, err := os.Stat(a.Target)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b.Target)
	return err == nil && os.SameFile(fa, fb)
}
