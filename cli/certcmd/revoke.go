package certcmd

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

// RevokeCommand is smki revoke: one certificate, or all of a user or party.
func RevokeCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "revoke",
		Usage: "revoke one certificate, every certificate of a user, or of a party",
		Description: `A revocation by user or party is a dry run unless --yes is given: it prints what
it would revoke. Each revocation advances the revocation sequence and the ORL is
reissued in the same transaction. Reasons are RFC 5280 names or numbers.
With --yes on a terminal (and without --json) a progress bar on stderr counts
the certificates marked revoked, then waits for the commit (ORL reissue).
A dry run or a revocation by user or party prints a summary whatever the count:
the first 20 certificates, the count, the SHA-256 of the sorted serials (as in
the audit record) and the GET that lists every one (smki certs --party P
--status revoked pages through it); --json adds the counts per user and profile.
Sent again (after a lost answer), a revocation by user or party finds nothing
good left and says so: nothing is revoked twice, the ORL is not reissued.

Examples:
   smki revoke --serial 5f3a... --reason keyCompromise
   smki revoke --party 90-B3-D5-1F-30-00-00-0A --reason cessationOfOperation          # dry run
   smki revoke --party 90-B3-D5-1F-30-00-00-0A --reason cessationOfOperation --yes`,
		Flags: verb.ClientFlagsWith(
			&ucli.StringFlag{Name: "serial", Usage: "certificate serial (hex)"},
			&ucli.StringFlag{Name: "user", Usage: "every certificate of this User ID"},
			&ucli.StringFlag{Name: "party", Usage: "every certificate of this Party ID"},
			&ucli.StringFlag{Name: "reason", Usage: "RFC 5280 reason (name or number)", Value: "unspecified"},
			&ucli.BoolFlag{Name: "yes", Usage: "revoke a user's or party's certificates (without it: dry run); prints a summary: the count, the SHA-256 of the sorted serials, the first 20 and where to list every one"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "show what --serial would revoke without revoking"},
		),
		Action: func(c *ucli.Context) error {
			user, party, err := userAndParty(c)
			if err != nil {
				return err
			}
			n := 0
			for _, s := range []string{"serial", "user", "party"} {
				if c.String(s) != "" {
					n++
				}
			}
			if n != 1 {
				return verb.UsageErr("give exactly one of --serial, --user, --party")
			}
			if c.Bool("dry-run") && c.Bool("yes") {
				return verb.UsageErr("--dry-run and --yes contradict each other: give --dry-run to see what would be revoked, or leave it out to revoke")
			}
			reason, err := ra.ParseReason(c.String("reason"))
			if err != nil {
				return verb.UsageErr("--reason: %v", err)
			}
			req := ra.RevokeRequest{Serial: strings.ToLower(c.String("serial")), UserID: user, PartyID: party,
				Reason: reason, Yes: c.Bool("yes"), DryRun: c.Bool("dry-run")}
			return verb.Call(c, func(cl *raclient.Client) (ra.RevokeResult, error) {
				return revoke(c, cl, req)
			}, func(res ra.RevokeResult) error {
				next := "add --yes to revoke"
				if c.Bool("dry-run") {
					next = "run the same command without --dry-run to revoke"
				}
				return PrintRevocation(c, res, next)
			})
		},
	}
}

// PrintRevocation prints a revocation's answer (smki revoke, smki user
// withdraw): the certificates, then what was or, in a dry run, would be
// revoked; next says how to carry a dry run out.
func PrintRevocation(c *ucli.Context, res ra.RevokeResult, next string) error {
	verb.Table(c, CertHeader, CertRows(res.Certificates))
	if res.DryRun {
		if res.CertificateCount > len(res.Certificates) {
			fmt.Fprintf(c.App.Writer, "the first %d shown (every one: GET %s)\n", len(res.Certificates), res.CertificatesURL)
		}
		fmt.Fprintf(c.App.Writer, "dry run: %d certificate(s) would be revoked (%s); %s\n",
			max(res.CertificateCount, len(res.Certificates)), ra.ReasonName(res.Reason), next)
		return nil
	}
	if res.RevokedCount == 0 {
		// Nothing was good any more: a revocation sent again after a
		// lost answer, or one made by someone else. The sequence and
		// the ORL are as they were.
		fmt.Fprintf(c.App.Writer, "nothing to revoke: no good certificate is left (already revoked ones: GET %s); the revocation sequence and the ORL are unchanged\n", res.CertificatesURL)
		return nil
	}
	if res.CertificateCount > len(res.Certificates) {
		fmt.Fprintf(c.App.Writer, "the first %d shown (every one: GET %s)\n", len(res.Certificates), res.CertificatesURL)
	}
	orl := "ORL reissued"
	if res.ORLPending {
		orl = "ORL not reissued yet: the CA key cannot sign now (its HSM away); the ORL lists it as soon as it can (GET /readyz)"
	}
	fmt.Fprintf(c.App.Writer, "revoked %d certificate(s) (%s); revocation sequence now %d; %s\n",
		res.RevokedCount, ra.ReasonName(res.Reason), res.LastSeq, orl)
	if res.RevokedCount > 1 {
		fmt.Fprintf(c.App.Writer, "serials_sha256 %s (the serials sorted, one a line; as in the audit record)\n", res.RevokedSHA256)
	}
	return nil
}

// revoke sends req: a bulk revocation (--user or --party with --yes) as
// the streamed call, with a progress bar on a terminal (and without
// --json); anything else as the plain call.
func revoke(c *ucli.Context, cl *raclient.Client, req ra.RevokeRequest) (ra.RevokeResult, error) {
	bulk := req.Serial == ""
	tty, ok := terminal(c.App.ErrWriter)
	switch {
	case bulk && req.Yes && ok && !c.Bool("json"):
		bar := startRevokeBar(tty)
		defer bar.stop()
		return cl.RevokeWithProgress(c.Context, req, bar.update)
	case bulk && req.Yes:
		// No display, but the streamed answer still suits a big
		// revocation better: its timeout is per line, not overall,
		// and its result may be larger than a plain answer's.
		return cl.RevokeWithProgress(c.Context, req, nil)
	}
	return cl.Revoke(c.Context, req)
}
