package registrycmd

import (
	"fmt"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

const allowListHeader = "ROLE\tSRVS\tSOURCE"

func allowListRow(l ra.RoleAllowList) []string {
	return []string{string(l.Role), strings.Join(l.SRVs, ","), l.Source}
}

// DevicesCommand is smki devices: the device registry.
func DevicesCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "devices",
		Usage: "the device registry (device -> registered supplier user)",
		Subcommands: []*ucli.Command{
			{
				Name: "import", Usage: "import a device file, all or nothing (ra-operator)", ArgsUsage: "FILE",
				Description: `FILE is CSV with the header device_eui64,supplier_user_id,smets,
or with the header
  device_eui64,supplier_user_id,smets,export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from
to register the device's other registrants too (ES export supplier, RSA supplier agent, ED or GT
network operator; an empty cell leaves that registration as it is; "-" ends it) from effective_from
(RFC 3339; empty: at once). A change of supplier_user_id takes effect at effective_from too: the old
supplier stays registered until then (both suppliers of one role). With the header
  device_eui64,effective_to
each registered device leaves the registry at effective_to (empty: at once). The verifier refuses
(E4) a User's request to a device it is not registered for in its role's capacity at the request's
time (docs/policy.md). An error names the line, and nothing is imported unless every line is good.
A file a spreadsheet saved as CSV is read as it is: CRLF, a UTF-8 byte order mark, and blank or
comma-only lines after the last device are accepted; quotes and blank lines between devices are not.

With --dry-run the RA checks the file against the registry as it stands, as the import would, and
says what the import would do; nothing is written.

Example:
   smki devices import --dry-run scenario/devices.csv
   smki devices import scenario/devices.csv`,
				Flags: verb.ClientFlagsWith(&ucli.BoolFlag{Name: "dry-run", Usage: "check the file and say what the import would do; write nothing"}),
				Action: func(c *ucli.Context) error {
					path, err := verb.OneArg(c, "FILE")
					if err != nil {
						return err
					}
					data, err := verb.ReadLimited(path, devicefile.MaxSize)
					if err != nil {
						return err
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.ImportResult, error) {
						if c.Bool("dry-run") {
							return cl.CheckDevices(c.Context, data)
						}
						return cl.ImportDevices(c.Context, data)
					}, func(res ra.ImportResult) error {
						_, err := fmt.Fprintln(c.App.Writer, res.Summary())
						return err
					})
				},
			},
			{
				Name: "export", Usage: "write the registry as a device file that smki devices import takes unchanged",
				Description: `Writes every registered device (RA officers; a party officer names one of its own supplier
users with --supplier) in the format smki devices import reads: importing the file adds and
changes nothing. Each device is one line with its supplier user, SMETS and, when any device has
other registrants, its export supplier, supplier agent and network operator in force now ("-"
for one that has ended). A device with a change still to come (a registration from a future
effective_from, a removal at effective_to) cannot be written as one line: the export is then
refused E_RA_DEVICE_EXPORT, naming it and when, and nothing is written.

Example:
   smki devices export --out registry.csv
   smki devices import --dry-run registry.csv`,
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "supplier", Usage: "only this supplier user's devices"},
					&ucli.StringFlag{Name: "out", Usage: "file to write (default stdout)"},
				),
				Action: func(c *ucli.Context) error {
					sup, err := verb.EUIFlag(c, "supplier", false)
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						data, err := cl.ExportDevices(c.Context, sup)
						if err != nil {
							return err
						}
						return verb.WriteOut(c, c.String("out"), data)
					})
				},
			},
			{
				Name: "list", Usage: "list registered devices",
				Description: "Party officers must name one of their own supplier users.\n\nExample:\n   smki devices list --supplier 90-B3-D5-1F-30-01-00-00 --officer ./supa-aro",
				Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "supplier", Usage: "only this supplier user's devices"}),
				Action: func(c *ucli.Context) error {
					sup, err := verb.EUIFlag(c, "supplier", false)
					if err != nil {
						return err
					}
					return verb.Call(c, func(cl *raclient.Client) ([]ra.Device, error) {
						return cl.ListDevices(c.Context, sup)
					}, verb.Each(c, "DEVICE\tSUPPLIER USER\tSMETS\tIMPORTED BY", func(d ra.Device) []string {
						return []string{d.Device.String(), d.SupplierUser.String(), strconv.Itoa(d.SMETS), d.ImportedBy}
					}))
				},
			},
		},
	}
}

// PolicyCommand is smki policy: the Service Request allow-lists.
func PolicyCommand() *ucli.Command {
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
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "role", Usage: "User Role (SC)", Required: true},
					&ucli.StringFlag{Name: "allow", Usage: "comma-separated SRVs, e.g. 1.6"},
				),
				Action: func(c *ucli.Context) error {
					if !c.IsSet("allow") {
						return verb.UsageErr("--allow is required (\"\" denies everything)")
					}
					r, err := role.Parse(c.String("role"))
					if err != nil {
						return verb.UsageErr("--role: %v", err)
					}
					srvs := []string{}
					for _, s := range strings.Split(c.String("allow"), ",") {
						if s = strings.TrimSpace(s); s != "" {
							srvs = append(srvs, s)
						}
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.RoleAllowList, error) {
						return cl.SetAllowList(c.Context, r, srvs)
					}, verb.One(c, allowListHeader, allowListRow))
				},
			},
			{
				Name: "show", Usage: "show every role's effective allow-list",
				Description: "Example:\n   smki policy show --officer ./admin --json",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.Call(c, func(cl *raclient.Client) ([]ra.RoleAllowList, error) {
						return cl.Policy(c.Context)
					}, verb.Each(c, allowListHeader, allowListRow))
				},
			},
		},
	}
}
