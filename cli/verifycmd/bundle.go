package verifycmd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/raclient"
	ucli "github.com/urfave/cli/v2"
)

// BundleCommand is smki bundle export: the RA's signed bundle.
func BundleCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "bundle",
		Usage: "the signed policy bundle verifiers run on",
		Subcommands: []*ucli.Command{{
			Name: "export", Usage: "fetch the RA's current signed bundle (RA officers and verifier credentials)",
			Description: "Example:\n   smki bundle export --out bundle.json",
			Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "out", Usage: "file to write (default stdout)"}),
			Action: func(c *ucli.Context) error {
				return verb.WithClient(c, func(cl *raclient.Client) error {
					data, err := cl.Bundle(c.Context)
					if err != nil {
						return err
					}
					return verb.WriteOut(c, c.String("out"), data)
				})
			},
		}},
	}
}

// AlertCommand is smki alert route: who receives a device's alert, offline.
func AlertCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "alert",
		Usage: "DCC Alert routing (R7)",
		Subcommands: []*ucli.Command{{
			Name:  "route",
			Usage: "say who receives an alert from a device, offline from a signed bundle",
			Description: `While a SoLR event is active for the device's registered supplier, alerts go to
the event's SRP user; otherwise to the registered supplier user. With data
smki verify would answer STALE for (too old, from the future, a CRL past
nextUpdate) it routes nowhere, says STALE in the reason and exits 1.

Example:
   smki alert route --bundle bundle.json --device 00-DB-12-34-56-78-90-A0 --code 0x8F0A`,
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "bundle", Usage: "signed policy bundle `FILE`", Required: true},
				&ucli.StringFlag{Name: "trust", Usage: "trust `DIR` (root.pem, issuing-ca.pem)"},
				&ucli.StringFlag{Name: "device", Usage: "device EUI-64", Required: true},
				&ucli.StringFlag{Name: "code", Usage: "alert code (decimal or 0x hex, 16 bits)", Required: true},
				&ucli.StringFlag{Name: "at", Usage: "route as of this RFC 3339 `TIME` (default now)"},
				&ucli.BoolFlag{Name: "json", Usage: "print JSON"},
			},
			Action: func(c *ucli.Context) error {
				dev, err := verb.EUIFlag(c, "device", true)
				if err != nil {
					return err
				}
				code, err := strconv.ParseUint(c.String("code"), 0, 16)
				if err != nil {
					return verb.UsageErr("--code: %q is not a 16-bit number", c.String("code"))
				}
				clock, err := verb.ClockFlag(c, "at")
				if err != nil {
					return err
				}
				v, err := buildVerifier(c.String("bundle"), c.String("trust"), clock, nil)
				if err != nil {
					return err
				}
				recips, reason := v.RouteAlert(dev, uint16(code), clock())
				out := struct {
					Device     eui64.ID   `json:"device"`
					Code       string     `json:"code"`
					Recipients []eui64.ID `json:"recipients"`
					Reason     string     `json:"reason"`
				}{dev, fmt.Sprintf("0x%04X", code), recips, reason}
				if out.Recipients == nil {
					out.Recipients = []eui64.ID{}
				}
				if c.Bool("json") {
					return verb.PrintJSON(c, out)
				}
				var ids []string
				for _, r := range recips {
					ids = append(ids, r.String())
				}
				fmt.Fprintf(c.App.Writer, "recipients: %s\nreason: %s\n", strings.Join(ids, ", "), reason)
				if len(recips) == 0 {
					return verb.WithCode(verb.ExitError, fmt.Errorf("no recipient for device %s", dev))
				}
				return nil
			},
		}},
	}
}
