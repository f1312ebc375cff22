package certcmd

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/repocmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/raclient"
)

// certCommand: certificates out of the RA (get), the SMKI view of a
// certificate file (inspect, cert_inspect.go) and a certificate's status
// over OCSP (status, repo.go).
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "cert",
		Usage: "download an Organisation Certificate by serial, inspect one, or ask its status",
		Subcommands: []*ucli.Command{
			{
				Name:  "get",
				Usage: "download a certificate by serial (PEM), as issued",
				Description: `Writes the certificate's PEM to --out (or stdout), byte for byte what the RA
issued. --chain appends the Issuing OCA and the Root OCA. With --json, stdout is
the certificate record (serial, user_id, status, ..., pem) instead.

Example:
   smki cert get --serial 5f3a... --chain --out sc-xml-chain.pem`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "serial", Usage: "certificate serial (hex)", Required: true},
					&ucli.BoolFlag{Name: "chain", Usage: "append the Issuing OCA and Root OCA certificates"},
					&ucli.StringFlag{Name: "out", Usage: "PEM `FILE` to write (default stdout)"},
				}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					return verb.WithClient(c, func(cl *raclient.Client) error {
						ci, err := cl.GetCertificate(c.Context, c.String("serial"))
						if err != nil {
							return err
						}
						if ci.PEM == "" {
							return fmt.Errorf("the RA answered certificate %s without its PEM; report this to the RA operator", ci.Serial)
						}
						out := []byte(ci.PEM)
						if c.Bool("chain") {
							chain, err := cl.CAChain(c.Context)
							if err != nil {
								return err
							}
							out = append(out, chain...)
						}
						if c.Bool("json") {
							if err := verb.PrintJSON(c, ci); err != nil {
								return err
							}
							if c.String("out") == "" {
								return nil
							}
						}
						return verb.WriteOut(c, c.String("out"), out)
					})
				},
			},
			repocmd.CertStatusCommand(),
			certInspectCommand(),
		},
	}
}
