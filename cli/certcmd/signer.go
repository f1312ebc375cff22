package certcmd

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

// SignerCommand is the RA's own four-eyes procedure for revoking its
// bundle and feed signer certificates (ra/signerrev.go).
func SignerCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "signer",
		Usage: "revoke the RA's own bundle and feed signer certificates (two people: request, approve)",
		Subcommands: []*ucli.Command{
			{
				Name:  "revoke",
				Usage: "request the revocation of one of the RA's own signer certificates (ra-operator)",
				Description: `Nothing is revoked until a different person holding ra-approver approves
(smki signer approve), under the same four-eyes rule as a SoLR event. If the
certificate is the signer the RA uses, the approval first gives the RA a new
signer, which signs the feed page and bundle carrying the revocation.

Example:
   smki signer revoke --serial 5f3a... --reason keyCompromise --officer ./admin`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "serial", Usage: "the signer certificate's serial (hex)", Required: true},
					&ucli.StringFlag{Name: "reason", Usage: "RFC 5280 reason (name or number)", Value: "unspecified"},
				}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					reason, err := ra.ParseReason(c.String("reason"))
					if err != nil {
						return verb.UsageErr("--reason: %v", err)
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						r, err := cl.RequestSignerRevocation(c.Context, strings.ToLower(c.String("serial")), reason)
						if err != nil {
							return err
						}
						return printSignerRevocation(c, r)
					})
				},
			},
			{
				Name: "approve", Usage: "approve a signer revocation request (ra-approver; never its requester)", ArgsUsage: "ID",
				Description: "Example:\n   smki signer approve signer-revocation-20260314T092653Z-0a1b2c3d4e5f --officer ./approver",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					id, err := verb.OneArg(c, "request ID")
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						r, err := cl.ApproveSignerRevocation(c.Context, id)
						if err != nil {
							return err
						}
						return printSignerRevocation(c, r)
					})
				},
			},
			{
				Name: "list", Usage: "list signer revocation requests (RA officers)",
				Description: "Example:\n   smki signer list --officer ./approver",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.WithClient(c, func(cl *raclient.Client) error {
						rs, err := cl.ListSignerRevocations(c.Context)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return verb.PrintJSON(c, rs)
						}
						rows := make([][]string, 0, len(rs))
						for _, r := range rs {
							rows = append(rows, []string{r.ID, r.Serial, ra.ReasonName(r.Reason), r.State, r.RequestedBy, r.ApprovedBy, r.NewSigner})
						}
						verb.Table(c, "ID\tSERIAL\tREASON\tSTATE\tREQUESTED BY\tAPPROVED BY\tNEW SIGNER", rows)
						return nil
					})
				},
			},
		},
	}
}

func printSignerRevocation(c *ucli.Context, r ra.SignerRevocation) error {
	if c.Bool("json") {
		return verb.PrintJSON(c, r)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "request:      %s\nserial:       %s\nreason:       %s\nstate:        %s\nrequested by: %s\n",
		r.ID, r.Serial, ra.ReasonName(r.Reason), r.State, r.RequestedBy)
	if r.ApprovedBy != "" {
		fmt.Fprintf(w, "approved by:  %s\n", r.ApprovedBy)
	}
	if r.NewSigner != "" {
		fmt.Fprintf(w, "new signer:   %s (the RA signs with it from now on)\n", r.NewSigner)
	}
	return nil
}
