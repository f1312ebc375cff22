package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

// readFileFlag reads the file named by --name, at most limit bytes.
func readFileFlag(c *ucli.Context, name string, limit int64) ([]byte, error) {
	return readLimited(c.String(name), limit)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, usageErr("read %s: %v", path, err)
	}
	if int64(len(data)) > limit {
		return nil, usageErr("%s is over %d bytes", path, limit)
	}
	return data, nil
}

func devicesCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "devices",
		Usage: "the device registry (device -> registered supplier user)",
		Subcommands: []*ucli.Command{
			{
				Name: "import", Usage: "import a device file, all or nothing (ra-operator)", ArgsUsage: "FILE",
				Description: `FILE is CSV with the header device_eui64,supplier_user_id,smets (DESIGN.md 5),
or with the header
  device_eui64,supplier_user_id,smets,export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from
to register the device's other registrants too (ES export supplier, RSA supplier agent, ED or GT
network operator; an empty cell leaves that registration as it is) from effective_from (RFC 3339;
empty: at once). The verifier refuses (E4) a User's request to a device it is not registered for in
its role's capacity (docs/policy.md). An error names the line, and nothing is imported unless every
line is good.

Example:
   smki devices import scenario/devices.csv`,
				Flags: clientFlags(),
				Action: func(c *ucli.Context) error {
					path, err := oneArg(c, "FILE")
					if err != nil {
						return err
					}
					data, err := readLimited(path, devicefile.MaxSize)
					if err != nil {
						return err
					}
					return withClient(c, func(cl *raclient.Client) error {
						res, err := cl.ImportDevices(c.Context, data)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, res)
						}
						fmt.Fprintf(c.App.Writer, "imported %d device(s): %d new, %d changed\n", res.Devices, res.Added, res.Changed)
						return nil
					})
				},
			},
			{
				Name: "list", Usage: "list registered devices",
				Description: "Party officers must name one of their own supplier users.\n\nExample:\n   smki devices list --supplier 90-B3-D5-1F-30-01-00-00 --officer ./supa-aro",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "supplier", Usage: "only this supplier user's devices"}}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					sup, err := euiFlag(c, "supplier", false)
					if err != nil {
						return err
					}
					return withClient(c, func(cl *raclient.Client) error {
						ds, err := cl.ListDevices(c.Context, sup)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, d := range ds {
							rows = append(rows, []string{d.Device.String(), d.SupplierUser.String(), strconv.Itoa(d.SMETS), d.ImportedBy})
						}
						return show(c, ds, "DEVICE\tSUPPLIER USER\tSMETS\tIMPORTED BY", rows)
					})
				},
			},
		},
	}
}

func policyCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "policy",
		Usage: "Service Request allow-lists per User Role (R3)",
		Subcommands: []*ucli.Command{
			{
				Name:  "set-srv",
				Usage: "set the SC role's Service Reference Variant allow-list (ra-operator)",
				Description: `Every SRV must be one the DUIS matrix defines. --allow "" denies SC everything.

Example:
   smki policy set-srv --role SC --allow 1.6`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "role", Usage: "User Role (SC)", Required: true},
					&ucli.StringFlag{Name: "allow", Usage: "comma-separated SRVs, e.g. 1.6"},
				}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					if !c.IsSet("allow") {
						return usageErr("--allow is required (\"\" denies everything)")
					}
					r, err := role.Parse(c.String("role"))
					if err != nil {
						return usageErr("--role: %v", err)
					}
					srvs := []string{}
					for _, s := range strings.Split(c.String("allow"), ",") {
						if s = strings.TrimSpace(s); s != "" {
							srvs = append(srvs, s)
						}
					}
					return withClient(c, func(cl *raclient.Client) error {
						l, err := cl.SetAllowList(c.Context, r, srvs)
						if err != nil {
							return err
						}
						return show(c, l, "ROLE\tSRVS\tSOURCE", [][]string{{string(l.Role), strings.Join(l.SRVs, ","), l.Source}})
					})
				},
			},
			{
				Name: "show", Usage: "show every role's effective allow-list",
				Description: "Example:\n   smki policy show --officer ./admin --json",
				Flags:       clientFlags(),
				Action: func(c *ucli.Context) error {
					return withClient(c, func(cl *raclient.Client) error {
						ls, err := cl.Policy(c.Context)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, l := range ls {
							rows = append(rows, []string{string(l.Role), strings.Join(l.SRVs, ","), l.Source})
						}
						return show(c, ls, "ROLE\tSRVS\tSOURCE", rows)
					})
				},
			},
		},
	}
}

func bundleCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "bundle",
		Usage: "the signed policy bundle verifiers run on",
		Subcommands: []*ucli.Command{{
			Name: "export", Usage: "fetch the RA's current signed bundle (RA officers and verifier credentials)",
			Description: "Example:\n   smki bundle export --out bundle.json",
			Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "out", Usage: "file to write (default stdout)"}}, clientFlags()...),
			Action: func(c *ucli.Context) error {
				return withClient(c, func(cl *raclient.Client) error {
					data, err := cl.Bundle(c.Context)
					if err != nil {
						return err
					}
					return writeOut(c, c.String("out"), data)
				})
			},
		}},
	}
}

func alertCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "alert",
		Usage: "DCC Alert routing (R7)",
		Subcommands: []*ucli.Command{{
			Name:  "route",
			Usage: "say who receives an alert from a device, offline from a signed bundle",
			Description: `While a SoLR event is active for the device's registered supplier, alerts go to
the event's SRP user; otherwise to the registered supplier user.

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
				dev, err := euiFlag(c, "device", true)
				if err != nil {
					return err
				}
				code, err := strconv.ParseUint(c.String("code"), 0, 16)
				if err != nil {
					return usageErr("--code: %q is not a 16-bit number", c.String("code"))
				}
				clock := time.Now
				if at, err := timeFlag(c, "at"); err != nil {
					return err
				} else if at != nil {
					clock = func() time.Time { return *at }
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
					return printJSON(c, out)
				}
				var ids []string
				for _, r := range recips {
					ids = append(ids, r.String())
				}
				fmt.Fprintf(c.App.Writer, "recipients: %s\nreason: %s\n", strings.Join(ids, ", "), reason)
				if len(recips) == 0 {
					return withCode(ExitError, fmt.Errorf("no recipient for device %s", dev))
				}
				return nil
			},
		}},
	}
}
