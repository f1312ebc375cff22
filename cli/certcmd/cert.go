package certcmd

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/repocmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra"
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
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "serial", Usage: "certificate serial (hex)", Required: true},
					&ucli.BoolFlag{Name: "chain", Usage: "append the Issuing OCA and Root OCA certificates"},
					&ucli.StringFlag{Name: "out", Usage: "PEM `FILE` to write (default stdout)"},
				),
				Action: func(c *ucli.Context) error {
					var pemOut []byte
					return verb.Call(c, func(cl *raclient.Client) (ra.CertInfo, error) {
						ci, err := cl.GetCertificate(c.Context, c.String("serial"))
						if err != nil {
							return ci, err
						}
						if ci.PEM == "" {
							return ci, fmt.Errorf("the RA answered certificate %s without its PEM; report this to the RA operator", ci.Serial)
						}
						pemOut = []byte(ci.PEM)
						if c.Bool("chain") {
							chain, err := cl.CAChain(c.Context)
							if err != nil {
								return ci, err
							}
							pemOut = append(pemOut, chain...)
						}
						return ci, savePEM(c, pemOut)
					}, func(ra.CertInfo) error { return stdoutPEM(c, pemOut) })
				},
			},
			repocmd.CertStatusCommand(),
			certInspectCommand(),
		},
	}
}

// savePEM writes a certificate's PEM to --out, if given, before anything
// is printed; stdoutPEM is the print that writes it to stdout instead when
// there is no --out (with --json, stdout is the record, its "pem" in it).
func savePEM(c *ucli.Context, pem []byte) error {
	if out := c.String("out"); out != "" {
		return verb.WriteOut(c, out, pem)
	}
	return nil
}

func stdoutPEM(c *ucli.Context, pem []byte) error {
	if c.String("out") != "" {
		return nil
	}
	return verb.WriteOut(c, "", pem)
}
