package solrcmd

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/cli/certcmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/raclient"
)

func eventRow(e ra.SoLREvent) []string {
	return []string{e.ID, string(e.State), e.FailedParty.String(), e.SRPUser.String(), e.Instruction,
		e.Start.Format(time.RFC3339), fmtPtr(e.End, "open"), fmtPtr(e.RevokeAt, "at approval (or start)"), e.DeclaredBy, e.ApprovedBy}
}

const eventHeader = "ID\tSTATE\tFAILED PARTY\tSRP USER\tINSTRUCTION\tSTART\tEND\tREVOKE AT\tDECLARED BY\tAPPROVED BY"

func fmtPtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// printEvent is a Call's print of an event and, if given, its dry run.
func printEvent(c *ucli.Context) func(ra.EventResult) error {
	return func(res ra.EventResult) error {
		verb.Table(c, eventHeader, [][]string{eventRow(res.Event)})
		if d := res.DryRun; d != nil {
			printDryRun(c, d)
			if d.CertificatesSHA256 != "" && res.Event.State == bundle.EventDeclared {
				fmt.Fprintf(c.App.Writer, "to approve these certificates and no others: smki solr approve %s --certificates-sha256 %s\n", res.Event.ID, d.CertificatesSHA256)
			}
		}
		e := res.Event
		switch {
		case e.RevokedCount > 0:
			fmt.Fprintf(c.App.Writer, "\nrevoked %d certificate(s) at %s\n", e.RevokedCount, fmtPtr(e.RevokedAt, ""))
		case e.State == bundle.EventApproved && e.JobID != "" && e.RevokedAt == nil && e.RevokeAt != nil && e.RevokeAt.After(time.Now()):
			fmt.Fprintf(c.App.Writer, "\nthe revocation of the failed Supplier's certificates is scheduled for %s (job %s); the RA's scheduler runs it\n",
				fmtPtr(e.RevokeAt, ""), e.JobID)
			if e.Start.After(time.Now()) && e.PartyStatusBefore == "" {
				fmt.Fprintf(c.App.Writer, "the event starts at %s: until then the failed Supplier is left as it is; its party becomes failed with the revocation\n",
					e.Start.UTC().Format(time.RFC3339))
			}
		case e.State == bundle.EventApproved && e.JobID != "" && e.RevokedAt == nil:
			// The approval's revocation step was left to the scheduler
			// (another instance holds its lock, or the step failed and is
			// retried): the party is cut off, its certificates not yet.
			fmt.Fprintf(c.App.Writer, "\nthe failed Supplier's party is cut off, but its certificates are not revoked yet: "+
				"the RA's scheduler runs the revocation (job %s) within seconds; smki solr show %s says when it has (state active)\n",
				e.JobID, e.ID)
		}
		return nil
	}
}

// Command is smki solr: SoLR events from declaration to close.
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "solr",
		Usage: "SoLR events: record the Authority's instruction, approve (four-eyes), close",
		Subcommands: []*ucli.Command{
			{
				Name:  "declare",
				Usage: "record an Authority instruction (authority-liaison or ra-operator); prints the dry run",
				Description: `Nothing changes until a different person holding ra-approver approves it.
To extend a contingency, or hand it to another SRP, declare a successor: the same
--failed-party with --start at or after the open event's end (it runs on from there
without a gap).
--revoke-at is when the failed Supplier's certificates are revoked: "now" (the
default: at approval, or at the start if that is later) or an RFC 3339 time at
or after the start (a scheduled revocation). An event approved before its start
leaves the failed Supplier as it is until its revocation: nobody is cut off
before the SRP may act for the consumers.

Example:
   smki solr declare --failed-party 90-B3-D5-1F-30-00-00-0A --srp-user 90-B3-D5-1F-30-05-00-00 \
       --instruction OFGEM-SOLR-2026-001 --revoke-at 2026-03-15T00:00:00Z`,
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "failed-party", Usage: "Party ID of the failed Supplier", Required: true},
					&ucli.StringFlag{Name: "srp-user", Usage: "the SRP's SC User ID", Required: true},
					&ucli.StringFlag{Name: "instruction", Usage: "the Authority's instruction reference", Required: true},
					&ucli.StringFlag{Name: "start", Usage: "RFC 3339 start (default now)"},
					&ucli.StringFlag{Name: "end", Usage: "RFC 3339 end (default open-ended)"},
					&ucli.StringFlag{Name: "revoke-at", Usage: `"now" or an RFC 3339 time`, Value: "now"},
				),
				Action: func(c *ucli.Context) error {
					failed, err := verb.EUIFlag(c, "failed-party", true)
					if err != nil {
						return err
					}
					srp, err := verb.EUIFlag(c, "srp-user", true)
					if err != nil {
						return err
					}
					req := ra.DeclareRequest{FailedParty: failed, SRPUser: srp, Instruction: c.String("instruction")}
					start, err := verb.TimeFlag(c, "start")
					if err != nil {
						return err
					}
					if start != nil {
						req.Start = *start
					}
					if req.End, err = verb.TimeFlag(c, "end"); err != nil {
						return err
					}
					if s := c.String("revoke-at"); !strings.EqualFold(s, "now") {
						if req.RevokeAt, err = verb.TimeFlag(c, "revoke-at"); err != nil {
							return err
						}
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.EventResult, error) {
						return cl.DeclareSoLR(c.Context, req)
					}, printEvent(c))
				},
			},
			eventCommand("approve", "approve a declared event (ra-approver; never its declarer)",
				"smki solr approve solr-20260314T092653Z-0a1b2c3d4e5f --certificates-sha256 HASH --officer ./approver\n\n"+
					"--certificates-sha256 is the dry run's, as smki solr show prints it: the approval is then refused\n"+
					"E_RA_DRY_RUN_CHANGED, approving nothing, if the failed party's certificates changed since.\n"+
					"Without it the approval takes the certificates as they stand.",
				[]ucli.Flag{&ucli.StringFlag{Name: "certificates-sha256", Usage: "the dry run's certificates_sha256 (smki solr show ID): approve that set of certificates and no other"}},
				func(c *ucli.Context, cl *raclient.Client, id string) (ra.EventResult, error) {
					return cl.ApproveSoLR(c.Context, id, c.String("certificates-sha256"))
				}),
			eventCommand("show", "show an event (with the dry run while its revocation is to come)",
				"smki solr show solr-20260314T092653Z-0a1b2c3d4e5f --officer ./approver --json", nil,
				func(c *ucli.Context, cl *raclient.Client, id string) (ra.EventResult, error) {
					return cl.GetSoLR(c.Context, id)
				}),
			{
				Name: "list", Usage: "list SoLR events",
				Description: "RA officers see every event; an SRP's officers see their own party's.\n\nExample:\n   smki solr list --officer ./liaison",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.Call(c, func(cl *raclient.Client) ([]ra.SoLREvent, error) {
						return cl.ListSoLR(c.Context)
					}, verb.Each(c, eventHeader, eventRow))
				},
			},
			eventCommand("close", "close an event: the SC role returns to default deny",
				"smki solr close solr-20260314T092653Z-0a1b2c3d4e5f --reason \"OFGEM-SOLR-2026-001 ended\"",
				[]ucli.Flag{&ucli.StringFlag{Name: "reason", Usage: "why (the instruction that ends it)"}},
				func(c *ucli.Context, cl *raclient.Client, id string) (ra.EventResult, error) {
					e, err := cl.CloseSoLR(c.Context, id, c.String("reason"))
					return ra.EventResult{Event: e}, err
				}),
		},
	}
}

// eventCommand is a solr verb on one event named by its ID: its flags
// (then the client's) plus one call, printed by printEvent.
func eventCommand(name, usage, example string, flags []ucli.Flag,
	call func(*ucli.Context, *raclient.Client, string) (ra.EventResult, error)) *ucli.Command {
	return &ucli.Command{
		Name: name, Usage: usage, ArgsUsage: "ID",
		Description: "Example:\n   " + example,
		Flags:       verb.ClientFlagsWith(flags...),
		Action: func(c *ucli.Context) error {
			id, err := verb.OneArg(c, "event ID")
			if err != nil {
				return err
			}
			return verb.Call(c, func(cl *raclient.Client) (ra.EventResult, error) {
				return call(c, cl, id)
			}, printEvent(c))
		},
	}
}

// ADTCommand is smki adt: Anomaly Detection Threshold files.
func ADTCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "adt",
		Usage: "Anomaly Detection Threshold files of SC users (R4; docs/adt.md)",
		Subcommands: []*ucli.Command{
			{
				Name:  "submit",
				Usage: "sign an ADT file with the officer's credential key and submit it (SRO/ARO of the SC user's party)",
				Description: `The signature is ECDSA P-256 over SHA-256 of the exact file bytes (DER), made
with --officer DIR/key.pem; the RA checks it against the officer's certificate.

Example:
   smki adt submit --file adt.json --officer ./srp1-aro`,
				Flags: verb.ClientFlagsWith(&ucli.StringFlag{Name: "file", Usage: "ADT file (JSON, smki-adt/1)", Required: true}),
				Action: func(c *ucli.Context) error {
					data, err := verb.ReadFileFlag(c, "file", adtfile.MaxSize)
					if err != nil {
						return err
					}
					_, officer, err := verb.RATarget(c)
					if err != nil {
						return err
					}
					key, err := credential.LoadKey(credential.KeyPath(officer))
					if err != nil {
						return verb.UsageErr("--officer: %v", err)
					}
					sig, err := adtfile.Sign(key, data)
					if err != nil {
						return verb.WithCode(verb.ExitUsage, err)
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.ADTRecord, error) {
						return cl.SubmitADT(c.Context, data, sig)
					}, verb.One(c, adtHeader, adtRow))
				},
			},
			{
				Name:  "withdraw",
				Usage: "withdraw the ADT file of an SC user and a supplier user, keeping it on record (SRO/ARO of the SC user's party, ra-operator)",
				Description: `The file leaves the signed bundle, so verifiers refuse the SC user's requests for
the supplier user's devices (E4) from the next bundle they load; smki adt list
still shows it, with who withdrew it and when. A new file for the pair is in force
again (smki adt submit).

Example:
   smki adt withdraw --sc-user 90-B3-D5-1F-30-05-00-00 --supplier-user 90-B3-D5-1F-30-01-00-00 --reason "SRP instructed to stop" --officer ./srp1-aro`,
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "sc-user", Usage: "the file's SC User ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "supplier-user", Usage: "the file's supplier User ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "reason", Usage: "why (kept with the record and in the audit log)"},
				),
				Action: func(c *ucli.Context) error {
					sc, err := verb.EUIFlag(c, "sc-user", true)
					if err != nil {
						return err
					}
					sup, err := verb.EUIFlag(c, "supplier-user", true)
					if err != nil {
						return err
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.ADTRecord, error) {
						return cl.WithdrawADT(c.Context, sc, sup, c.String("reason"))
					}, verb.One(c, adtHeader, adtRow))
				},
			},
			{
				Name: "list", Usage: "list accepted ADT files (a withdrawn one says by whom and when)",
				Description: "Example:\n   smki adt list --officer ./srp1-aro",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.Call(c, func(cl *raclient.Client) ([]ra.ADTRecord, error) {
						return cl.ListADT(c.Context)
					}, verb.Each(c, adtHeader, adtRow))
				},
			},
		},
	}
}

const adtHeader = "SC USER\tSUPPLIER USER\tSRVS\tSUBMITTED BY\tSHA256\tWITHDRAWN"

func adtRow(r ra.ADTRecord) []string {
	var srvs []string
	for _, t := range r.Thresholds {
		srvs = append(srvs, fmt.Sprintf("%s(%d/%d per %s)", t.SRV, t.Warning, t.Quarantine, time.Duration(t.Period)))
	}
	withdrawn := "-"
	if w := r.Withdrawn; w != nil {
		withdrawn = w.By + " " + w.At.Format(time.RFC3339)
	}
	return []string{r.SCUser.String(), r.SupplierUser.String(), strings.Join(srvs, " "), r.SubmittedBy, r.SHA256, withdrawn}
}

// printDryRun prints a dry run's summary: the counts, per user and per
// profile, the sample and where the full list is.
func printDryRun(c *ucli.Context, d *ra.DryRun) {
	w := c.App.Writer
	if d.CertificatesWithheld {
		fmt.Fprintf(w, "\ndry run: the revocation would revoke every certificate of the failed Supplier's users (cessationOfOperation); their number is not shown to your party\n")
	} else {
		fmt.Fprintf(w, "\ndry run: the revocation would revoke %d certificate(s) (cessationOfOperation)\n", d.CertificateCount)
	}
	if d.CertificateCount > 0 {
		verb.Table(c, "USER\tCERTIFICATES", countRows(d.ByUser))
		verb.Table(c, "PROFILE\tCERTIFICATES", countRows(d.ByProfile))
		if len(d.Certificates) < d.CertificateCount {
			fmt.Fprintf(w, "the first %d (every one: GET %s):\n", len(d.Certificates), d.CertificatesURL)
		}
		verb.Table(c, certcmd.CertHeader, certcmd.CertRows(d.Certificates))
	}
	if d.CertificatesSHA256 != "" {
		fmt.Fprintf(w, "certificates_sha256: %s\n", d.CertificatesSHA256)
	}
	fmt.Fprintf(w, "\n%d device(s) of supplier user(s) %v come into the SRP's scope\n", d.DeviceCount, d.SupplierUsers)
	if len(d.Devices) < d.DeviceCount {
		fmt.Fprintf(w, "the first %d: %v\n", len(d.Devices), deviceIDs(d.Devices))
	}
}

// countRows is a count map as table rows, sorted by key.
func countRows(m map[string]int) [][]string {
	rows := make([][]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		rows = append(rows, []string{k, strconv.Itoa(m[k])})
	}
	return rows
}

func deviceIDs(ds []ra.Device) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Device.String())
	}
	return out
}
