package certcmd

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

func RevokeCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "revoke",
		Usage: "revoke one certificate, every certificate of a user, or of a party",
		Description: `A revocation by user or party is a dry run unless --yes is given: it prints what
it would revoke. Each revocation advances the revocation sequence and the ORL is
reissued in the same transaction. Reasons are RFC 5280 names or numbers.
With --yes on a terminal (and without --json) a progress bar on stderr counts
the certificates marked revoked, then waits for the commit (ORL reissue).

Examples:
   smki revoke --serial 5f3a... --reason keyCompromise
   smki revoke --party 90-B3-D5-1F-30-00-00-0A --reason cessationOfOperation          # dry run
   smki revoke --party 90-B3-D5-1F-30-00-00-0A --reason cessationOfOperation --yes`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "serial", Usage: "certificate serial (hex)"},
			&ucli.StringFlag{Name: "user", Usage: "every certificate of this User ID"},
			&ucli.StringFlag{Name: "party", Usage: "every certificate of this Party ID"},
			&ucli.StringFlag{Name: "reason", Usage: "RFC 5280 reason (name or number)", Value: "unspecified"},
			&ucli.BoolFlag{Name: "yes", Usage: "revoke a user's or party's certificates (without it: dry run)"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "show what --serial would revoke without revoking"},
		}, verb.ClientFlags()...),
		Action: func(c *ucli.Context) error {
			user, err := verb.EUIFlag(c, "user", false)
			if err != nil {
				return err
			}
			party, err := verb.EUIFlag(c, "party", false)
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
			reason, err := ra.ParseReason(c.String("reason"))
			if err != nil {
				return verb.UsageErr("--reason: %v", err)
			}
			return verb.WithClient(c, func(cl *raclient.Client) error {
				req := ra.RevokeRequest{Serial: strings.ToLower(c.String("serial")), UserID: user, PartyID: party,
					Reason: reason, Yes: c.Bool("yes"), DryRun: c.Bool("dry-run")}
				bulk := c.String("serial") == ""
				var res ra.RevokeResult
				switch tty, ok := terminal(c.App.ErrWriter); {
				case bulk && req.Yes && ok && !c.Bool("json"):
					bar := startRevokeBar(tty)
					res, err = cl.RevokeWithProgress(c.Context, req, bar.update)
					bar.stop()
				case bulk && req.Yes:
					// No display, but the streamed answer still suits a big
					// revocation better: its timeout is per line, not overall,
					// and its result may be larger than a plain answer's.
					res, err = cl.RevokeWithProgress(c.Context, req, nil)
				default:
					res, err = cl.Revoke(c.Context, req)
				}
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return verb.PrintJSON(c, res)
				}
				verb.Table(c, "SERIAL\tUSER\tPROFILE\tROLE\tSTATUS\tNOT AFTER", CertRows(res.Certificates))
				if res.DryRun {
					fmt.Fprintf(c.App.Writer, "dry run: %d certificate(s) would be revoked (%s); add --yes to revoke\n",
						len(res.Certificates), ra.ReasonName(res.Reason))
				} else {
					last := uint64(0)
					if k := len(res.Revocations); k > 0 {
						last = res.Revocations[k-1].Seq
					}
					fmt.Fprintf(c.App.Writer, "revoked %d certificate(s) (%s); revocation sequence now %d; ORL reissued\n",
						len(res.Revocations), ra.ReasonName(res.Reason), last)
				}
				return nil
			})
		},
	}
}
