package officercmd

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"
	ucli "github.com/urfave/cli/v2"
)

func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "officer",
		Usage: "officers: SROs and AROs of parties, and the RA's own staff",
		Subcommands: []*ucli.Command{
			{
				Name:  "add",
				Usage: "appoint an officer and write their credential directory",
				Description: `RA operators appoint RA staff and a party's first SRO; an SRO appoints its
own party's AROs. The credential (key.pem, cert.pem, ca.pem) is an mTLS client
certificate from the RA access CA, used later as --officer DIR.

With --csr (made by the appointee with smki officer keygen) the RA certifies the
appointee's own key: --out receives cert.pem and ca.pem only, for the appointee to
put beside their key.pem, and nobody but the appointee ever holds their key.

Examples:
   smki officer add --id srp1-sro --name "Sam Roe" --kind sro --party 90-B3-D5-1F-30-00-00-5C --out ./srp1-sro
   smki officer add --id approver2 --name "Ann Lee" --kind ra-approver --csr ./ann/officer.csr --out ./ann-cert`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "id", Usage: "officer ID (a-z 0-9 . _ -)", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "the person's name", Required: true},
					&ucli.StringFlag{Name: "kind", Usage: "sro, aro, ra-operator, ra-approver, authority-liaison or verifier", Required: true},
					&ucli.StringFlag{Name: "party", Usage: "Party ID for sro and aro"},
					&ucli.StringFlag{Name: "csr", Usage: "the appointee's CSR (smki officer keygen): certify their own key"},
					&ucli.StringFlag{Name: "out", Usage: "credential directory to write", Required: true},
				}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					party, err := verb.EUIFlag(c, "party", false)
					if err != nil {
						return err
					}
					out := c.String("out")
					if _, err := os.Stat(credential.CertPath(out)); err == nil {
						return verb.UsageErr("--out %s already holds a credential", out)
					}
					var csrPEM []byte
					if f := c.String("csr"); f != "" {
						if csrPEM, err = verb.ReadLimited(f, ca.MaxCSRSize); err != nil {
							return verb.WithCode(verb.ExitUsage, err)
						}
					} else if _, err := os.Stat(credential.KeyPath(out)); err == nil {
						return verb.UsageErr("--out %s already holds a key: give its CSR with --csr", out)
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						o, cred, err := cl.AppointOfficer(c.Context, ra.OfficerRequest{ID: c.String("id"), Name: c.String("name"), Kind: c.String("kind"), PartyID: party, CSR: string(csrPEM)})
						if err != nil {
							return err
						}
						if err := ownpki.WriteCredential(c.String("out"), cred); err != nil {
							return err
						}
						if c.Bool("json") {
							return verb.PrintJSON(c, o)
						}
						if len(cred.KeyPEM) == 0 {
							fmt.Fprintf(c.App.Writer, "officer %s (%s) appointed; cert.pem and ca.pem written to %s for the appointee to put beside their key.pem\n", o.ID, o.Kind, out)
							return nil
						}
						fmt.Fprintf(c.App.Writer, "officer %s (%s) appointed; credential written to %s\n", o.ID, o.Kind, out)
						return nil
					})
				},
			},
			officerKeygenCommand(),
			officerExportCommand(),
			officerRenewCommand(),
			officerReissueCommand(),
			{
				Name: "list", Usage: "list officers, optionally of one party",
				Description: "CREDENTIAL EXPIRES shows who must renew (smki officer renew) and when;\n\"-\" for officers appointed before smki recorded it.\n\nExample:\n   smki officer list --party 90-B3-D5-1F-30-00-00-5C",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)"}}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					party, err := verb.EUIFlag(c, "party", false)
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						officers, err := cl.ListOfficers(c.Context, party)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, o := range officers {
							expires := "-"
							if o.CredentialExpires != nil {
								expires = o.CredentialExpires.UTC().Format("2006-01-02")
							}
							rows = append(rows, []string{o.ID, o.Kind, o.PartyID, o.Name, o.Status, o.AppointedBy, expires})
						}
						return verb.Show(c, officers, "ID\tKIND\tPARTY\tNAME\tSTATUS\tAPPOINTED BY\tCREDENTIAL EXPIRES", rows)
					})
				},
			},
			{
				Name: "remove", Usage: "remove an officer; their credential is refused at once",
				Description: "Example:\n   smki officer remove --id srp1-aro",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "id", Usage: "officer ID", Required: true}}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					return verb.WithClient(c, func(cl *raclient.Client) error {
						o, err := cl.RemoveOfficer(c.Context, c.String("id"))
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return verb.PrintJSON(c, o)
						}
						fmt.Fprintf(c.App.Writer, "officer %s removed\n", o.ID)
						return nil
					})
				},
			},
		},
	}
}

// officerKeygenCommand makes an officer's key where the officer is, so that
// the appointing officer never holds it (ra.OfficerRequest.CSR).
func officerKeygenCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "keygen",
		Usage: "as the appointee: make your own credential key and a CSR for the officer who appoints you",
		Description: `Writes DIR/key.pem (P-256, mode 0600; it never leaves DIR) and DIR/officer.csr.
Send officer.csr to the officer who appoints you (smki officer add --csr); put the
cert.pem and ca.pem they send back into DIR, which is then your --officer DIR.

Example:
   smki officer keygen --out ./ann
   # the appointer: smki officer add --id ann --name "Ann Lee" --kind ra-approver --csr officer.csr --out ./ann-cert
   cp ./ann-cert/cert.pem ./ann-cert/ca.pem ./ann/`,
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "out", Usage: "credential directory to create", Required: true}},
		Action: func(c *ucli.Context) error {
			dir := c.String("out")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return verb.WithCode(verb.ExitUsage, err)
			}
			keyPEM, csrPEM, err := newOfficerKey()
			if err != nil {
				return err
			}
			if err := verb.WriteNew(credential.KeyPath(dir), keyPEM, 0o600); err != nil {
				return err
			}
			csrPath := filepath.Join(dir, "officer.csr")
			if err := verb.WriteNew(csrPath, csrPEM, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "key written to %s/key.pem; send %s to the officer who appoints you\n", dir, csrPath)
			return nil
		},
	}
}
