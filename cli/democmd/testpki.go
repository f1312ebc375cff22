package democmd

import (
	"fmt"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/testpki"
)

// TestPKICommand is smki testpki: a complete test PKI and SoLR scenario.
func TestPKICommand() *ucli.Command {
	return &ucli.Command{
		Name:  "testpki",
		Usage: "build a complete test PKI and SoLR scenario",
		Description: `Builds, through the real CA, a root and issuing CA, the scenario's users
with keys and certificates (an XML-signing user for every User Role, the suppliers'
digital-signing users, and the negative cases' supplier-b-expired and supplier-b-gs),
a device registry, the signed policy bundle, and signed Service Requests (requests/):
for every role each SRV it may send, and refusals of each kind, with the verdict the
verifier must give each (cases.json). Supplier-a has failed:
its certificates are revoked and a SoLR event names srp-sc-xml. A signed page of
the RA's revocation feed (feed-page.json) revokes supplier-b-es-xml after the bundle,
and cases.json says which cases it turns to REVOKED. docs/testpki.md lists
every file. For one --at, cases.json, devices.csv and every file name are the same
on each run; keys, certificates and signatures are fresh.

Example:
   smki testpki --out ./scenario --at 2026-11-28T09:00:00Z`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "out", Usage: "output directory (must be empty or absent)", Required: true, EnvVars: []string{"SMKI_TESTPKI_OUT"}},
			&ucli.StringFlag{Name: "at", Usage: "build the PKI as of this RFC 3339 time (default now)"},
		},
		Action: func(c *ucli.Context) error {
			var at time.Time
			if t, err := verb.TimeFlag(c, "at"); err != nil {
				return err
			} else if t != nil {
				at = *t
			}
			p, err := testpki.Build(c.Context, testpki.Options{Out: c.String("out"), At: at})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "test PKI written to %s (as of %s)\n", p.Dir, p.At.Format(time.RFC3339))
			fmt.Fprintf(c.App.Writer, "  trust/root.pem, trust/issuing-ca.pem, trust/orl.crl, trust/arl.crl\n")
			for _, u := range testpki.Users() {
				fmt.Fprintf(c.App.Writer, "  users/%-18s %s %-3s %s\n", u.Name, u.ID, u.Role, u.Profile)
			}
			fmt.Fprintf(c.App.Writer, "  devices.csv (%d devices), bundle.json, %s (revokes %s)\n", len(p.Devices), testpki.FeedPageFile, testpki.FeedRevokedUser)
			fmt.Fprintf(c.App.Writer, "  %s/ and %s (%d signed requests with their verdicts)\n", testpki.RequestsDir, testpki.CasesFile, len(p.Cases.Cases))
			return nil
		},
	}
}
