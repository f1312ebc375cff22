package storecmd

import (
	"bufio"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/auditcheck"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/store"
	"github.com/smki/smki/verifier"
)

// AuditCommand is smki audit verify: the audit chain and its checkpoints.
func AuditCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "audit",
		Usage: "the tamper-evident audit log",
		Subcommands: []*ucli.Command{{
			Name:  "verify",
			Usage: "walk the audit hash chain and name the first broken link",
			Description: `With --data or --store it opens the store directly (a bbolt store only when
its server is stopped: the embedded store is single-process; a PostgreSQL
store at any time); otherwise it asks the RA.

The walk alone cannot see a chain rewritten wholesale (every hash
recomputed). --checkpoint FILE (repeatable) names a bundle exported earlier
(smki bundle export, or a verifier's copy): each records the audit head when
it was built, signed by the RA's OU=89 signer. Its signature is checked as a
verifier checks it, against --trust DIR/root.pem (required: not the root in
the store under audit), with the signer judged at the bundle's issued_at;
then the stored entry at that seq must still have that hash, else
E_AUDIT_CHECKPOINT. A checkpoint that does not open is
E_AUDIT_CHECKPOINT_INVALID, never a pass. Offline only: the server may be
the attacker. A checkpoint vouches for entries up to its seq; use the newest.

Examples:
   smki audit verify --data ./data
   smki audit verify --data ./data --trust ./trust --checkpoint bundles/2026-03-14.json --checkpoint bundles/2026-03-15.json
   smki audit verify --store 'postgres://smki@db/smki'
   smki audit verify --ra https://127.0.0.1:8443 --officer ./admin`,
			Flags: verb.ClientFlagsWith(
				&ucli.StringFlag{Name: "data", Usage: "data directory of a stopped server"},
				StoreFlag(),
				&ucli.GenericFlag{Name: "checkpoint", Value: &fileList{},
					Usage: "bundle `FILE` exported earlier whose signed audit_head the chain must still hold (repeatable; needs --data or --store, and --trust)"},
				&ucli.StringFlag{Name: "trust", Usage: "trust `DIR` whose root.pem checkpoint signatures must chain to"},
			),
			Action: auditVerify,
		}, {
			Name:  "export",
			Usage: "write the audit log as JSON Lines, one entry a line, for an auditor's own tools",
			Description: `Reads the store directly (--data of a stopped server, or --store; a
PostgreSQL store at any time) and writes every entry from --from on, in
order, one JSON object a line:
  {"seq":1,"time":"2026-03-14T09:00:00.123456789Z","actor":"admin",
   "action":"party.create","subject":"party:...","result":"allowed",
   "detail":"...","prev_hash":"<hex>","hash":"<hex>"}
(time in UTC with nanoseconds; prev_hash "" for entry 1). The keys and their
meaning are stable; new keys may be added. It reads a page at a time, so
memory does not grow with the log, and writes --out whole or not at all (a
file beside it, renamed when complete); without --out, to stdout. It does not
check the chain: smki audit verify does.

Examples:
   smki audit export --data ./data --out audit-2026-03-14.jsonl
   smki audit export --store 'postgres://auditor@db/smki' --from 120000`,
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "data", Usage: "data directory of a stopped server"},
				StoreFlag(),
				&ucli.Uint64Flag{Name: "from", Value: 1, Usage: "first entry (seq) to write"},
				&ucli.StringFlag{Name: "out", Usage: "file to write (replaced whole when complete); default stdout"},
			},
			Action: auditExport,
		}},
	}
}

// exportedEntry is one line of smki audit export (a stable format,
// docs/operations.md).
type exportedEntry struct {
	Seq      uint64 `json:"seq"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Action   string `json:"action"`
	Subject  string `json:"subject"`
	Result   string `json:"result"`
	Detail   string `json:"detail"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

func auditExport(c *ucli.Context) error {
	if c.String("data") == "" && c.String("store") == "" {
		return verb.UsageErr("audit export: give --data or --store (it reads the store itself)")
	}
	from := max(c.Uint64("from"), 1)
	st, err := openForAudit(c, c.String("data"), LockWait)
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	defer st.Close()
	if err := st.SealAudit(c.Context); err != nil && !errors.Is(err, store.ErrReadOnly) {
		return fmt.Errorf("%w: sealing the audit log: %w", ra.ErrInternal, err)
	}
	out := c.String("out")
	if out == "" {
		_, err := writeAuditExport(c, st, from, c.App.Writer)
		return err
	}
	if err := verb.CheckOut("out", out); err != nil {
		return err
	}
	// Replaced whole when complete, synced, file and directory
	// (durable.ReplaceFrom): a failure or a crash leaves --out as it was.
	var n int
	var fillErr error // already in smki's words
	err = durable.ReplaceFrom(out, 0o600, func(w io.Writer) error {
		n, fillErr = writeAuditExport(c, st, from, w)
		return fillErr
	})
	switch {
	case fillErr != nil:
		return fillErr
	case err != nil:
		return exportWriteErr(out, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "wrote %d audit entries to %s\n", n, out)
	return nil
}

// writeAuditExport writes the audit entries from seq from on to w, one
// JSON line each, and says how many.
func writeAuditExport(c *ucli.Context, st store.Store, from uint64, w io.Writer) (int, error) {
	out := c.String("out")
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for {
		var page []store.AuditEntry
		if err := st.View(c.Context, func(tx store.Tx) (err error) {
			page, err = tx.AuditEntries(from, 1000)
			return err
		}); err != nil {
			return n, fmt.Errorf("%w: reading audit entries from %d: %w", ra.ErrInternal, from, err)
		}
		for _, e := range page {
			if err := enc.Encode(exportedEntry{Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
				Action: e.Action, Subject: e.Subject, Result: e.Result, Detail: e.Detail,
				PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}); err != nil {
				return n, exportWriteErr(out, err)
			}
			from = e.Seq + 1
			n++
		}
		if len(page) < 1000 {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return n, exportWriteErr(out, err)
	}
	return n, nil
}

// exportWriteErr: the export could not be written; nothing was kept.
func exportWriteErr(out string, err error) error {
	if out == "" {
		out = "stdout"
	}
	return fmt.Errorf("the audit export could not be written to %s: %s; nothing was kept at --out: free space or give another path", out, verb.IOReason(err))
}

// fileList is a repeatable flag that, unlike StringSliceFlag, does not
// split its values on commas (a file name may hold one).
type fileList []string

func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }
func (f *fileList) String() string     { return strings.Join(*f, " ") }

// auditVerifyReport is the walk's report plus the checkpoints; OK is true
// only if the chain and every checkpoint hold.
type auditVerifyReport struct {
	ra.AuditReport
	OK          bool                          `json:"ok"`
	Checkpoints []auditcheck.CheckpointResult `json:"checkpoints,omitempty"`
}

func auditVerify(c *ucli.Context) error {
	var files []string
	if f, ok := c.Generic("checkpoint").(*fileList); ok {
		files = *f
	}
	offline := c.String("data") != "" || c.String("store") != ""
	if len(files) > 0 && !offline {
		return verb.UsageErr("--checkpoint needs --data or --store: the check reads the store itself, not the RA's word")
	}
	if len(files) > 0 && c.String("trust") == "" {
		return verb.UsageErr("--checkpoint needs --trust DIR (root.pem): the root recorded in the store under audit proves nothing")
	}
	var rep auditVerifyReport
	var failures []string
	if !offline {
		if err := verb.WithClient(c, func(cl *raclient.Client) (err error) {
			rep.AuditReport, err = cl.VerifyAudit(c.Context)
			return err
		}); err != nil {
			return err
		}
	} else {
		cps, results, err := openCheckpoints(c.String("trust"), files)
		if err != nil {
			return err
		}
		st, err := openForAudit(c, c.String("data"), 2*time.Second)
		if err != nil {
			return verb.WithCode(verb.ExitUsage, err)
		}
		defer st.Close()
		var werr error
		rep.AuditReport, werr = ra.WalkAudit(c.Context, st)
		rep.AuditReport.OK = werr == nil
		if werr != nil {
			rep.Error = werr.Error()
		}
		checked, cerr := auditcheck.CheckAuditCheckpoints(c.Context, st, cps)
		if cerr != nil && !errors.Is(cerr, auditcheck.ErrAuditCheckpoint) {
			return cerr
		}
		rep.Checkpoints = append(results, checked...)
	}
	if !rep.AuditReport.OK {
		failures = append(failures, chainBroken(rep.AuditReport))
	}
	for _, r := range rep.Checkpoints {
		if !r.OK {
			failures = append(failures, r.Error)
		}
	}
	rep.OK = len(failures) == 0
	if c.Bool("json") {
		if err := verb.PrintJSON(c, rep); err != nil {
			return err
		}
	} else {
		if rep.AuditReport.OK {
			fmt.Fprintf(c.App.Writer, "audit chain OK: %d entries, head %s\n", rep.Entries, rep.Head)
		}
		for _, r := range rep.Checkpoints {
			if r.OK {
				fmt.Fprintf(c.App.Writer, "checkpoint %s OK: entry %d hash %s (bundle signed at %s)\n",
					r.Checkpoint, r.Seq, r.Hash, r.IssuedAt.UTC().Format(time.RFC3339))
			}
		}
	}
	if !rep.OK {
		return errors.New(strings.Join(failures, "\n"))
	}
	return nil
}

// openCheckpoints reads and opens each checkpoint file against trustDir's
// roots. A file that cannot be read is a usage error; one that does not
// open as a signed bundle is a failed result, so the others still run.
func openCheckpoints(trustDir string, files []string) ([]auditcheck.Checkpoint, []auditcheck.CheckpointResult, error) {
	if len(files) == 0 {
		return nil, nil, nil
	}
	t, err := verifier.LoadTrust(trustDir)
	if err != nil {
		return nil, nil, verb.UsageErr("--trust: %v", err)
	}
	pool := x509.NewCertPool()
	for _, r := range t.Roots {
		pool.AddCert(r)
	}
	var cps []auditcheck.Checkpoint
	var bad []auditcheck.CheckpointResult
	for _, f := range files {
		data, err := verb.ReadLimited(f, bundle.MaxBundleSize)
		if err != nil {
			return nil, nil, verb.UsageErr("--checkpoint: %v", err)
		}
		cp, err := auditcheck.OpenCheckpoint(f, data, pool, time.Now())
		if err != nil {
			bad = append(bad, auditcheck.CheckpointResult{Checkpoint: f, Error: err.Error()})
			continue
		}
		cps = append(cps, cp)
	}
	return cps, bad, nil
}

// chainBroken says which link of the chain broke, how much held, and what
// to do: the walk's own words (store.ChainError), without the codes that
// wrap it on the way.
func chainBroken(r ra.AuditReport) string {
	what := r.Error
	if i := strings.Index(what, "E_AUDIT_CHAIN_BROKEN: entry "); i >= 0 {
		what = what[i:]
	} else {
		what = fmt.Sprintf("E_AUDIT_CHAIN_BROKEN: entry %d: %s", r.BrokenAt, what)
	}
	return fmt.Sprintf("%s (the first broken link; the %d entries before it hold): treat the store as tampered with: keep it as evidence, restore the last verified backup and investigate (docs/operations.md)",
		what, r.Entries)
}
