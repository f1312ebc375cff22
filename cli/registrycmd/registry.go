package registrycmd

import (
	"fmt"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

func PartyCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "party",
		Usage: "SEC Parties (RA operators)",
		Subcommands: []*ucli.Command{
			{
				Name: "create", Usage: "register a SEC Party",
				Description: "Example:\n   smki party create --id 90-B3-D5-1F-30-00-00-0A --name supplier-a",
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "id", Usage: "Party ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "party name", Required: true},
				}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					id, err := verb.EUIFlag(c, "id", true)
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						p, err := cl.CreateParty(c.Context, id, c.String("name"))
						if err != nil {
							return err
						}
						return verb.Show(c, p, "ID\tNAME\tSTATUS", [][]string{{p.ID.String(), p.Name, p.Status}})
					})
				},
			},
			partyStatusCommand("suspend", "suspended", "suspend a party: verifiers following the feed refuse its users' requests (PARTY) within a second (ra-operator)"),
			partyStatusCommand("reinstate", "active", "reinstate a suspended party (ra-operator)"),
			{
				Name: "list", Usage: "list parties",
				Description: "Example:\n   smki party list --json",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.WithClient(c, func(cl *raclient.Client) error {
						ps, err := cl.ListParties(c.Context)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, p := range ps {
							rows = append(rows, []string{p.ID.String(), p.Name, p.Status})
						}
						return verb.Show(c, ps, "ID\tNAME\tSTATUS", rows)
					})
				},
			},
		},
	}
}

// partyStatusCommand is smki party suspend / reinstate.
func partyStatusCommand(name, status, usage string) *ucli.Command {
	return &ucli.Command{
		Name: name, Usage: usage,
		Description: "Example:\n   smki party " + name + " --id 90-B3-D5-1F-30-00-00-0A",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "id", Usage: "Party ID (EUI-64)", Required: true},
		}, verb.ClientFlags()...),
		Action: func(c *ucli.Context) error {
			id, err := verb.EUIFlag(c, "id", true)
			if err != nil {
				return err
			}
			return verb.WithClient(c, func(cl *raclient.Client) error {
				p, err := cl.SetPartyStatus(c.Context, id, status)
				if err != nil {
					return err
				}
				return verb.Show(c, p, "ID\tNAME\tSTATUS", [][]string{{p.ID.String(), p.Name, p.Status}})
			})
		},
	}
}

func UserCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "user",
		Usage: "User IDs and their User Roles (RA operators)",
		Subcommands: []*ucli.Command{
			{
				Name: "create", Usage: "register a User ID for a party with one User Role",
				Description: "Example:\n   smki user create --id 90-B3-D5-1F-30-05-00-00 --party 90-B3-D5-1F-30-00-00-5C --role SC --name srp-sc",
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "id", Usage: "User ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "role", Usage: "User Role: IS, ES, GS, RSA, ED, GT, OU or SC", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "display name", Required: true},
				}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					id, err := verb.EUIFlag(c, "id", true)
					if err != nil {
						return err
					}
					party, err := verb.EUIFlag(c, "party", true)
					if err != nil {
						return err
					}
					r, err := role.Parse(c.String("role"))
					if err != nil {
						return verb.UsageErr("--role: %v", err)
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						u, err := cl.CreateUser(c.Context, id, party, r, c.String("name"))
						if err != nil {
							return err
						}
						return verb.Show(c, u, "ID\tPARTY\tROLE\tNAME\tSTATUS", [][]string{{u.ID.String(), u.PartyID.String(), string(u.Role), u.Name, u.Status}})
					})
				},
			},
			{
				Name: "list", Usage: "list users, optionally of one party",
				Description: "Example:\n   smki user list --party 90-B3-D5-1F-30-00-00-5C",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)"}}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					party, err := verb.EUIFlag(c, "party", false)
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						us, err := cl.ListUsers(c.Context, party)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, u := range us {
							rows = append(rows, []string{u.ID.String(), u.PartyID.String(), string(u.Role), u.Name, u.Status})
						}
						return verb.Show(c, us, "ID\tPARTY\tROLE\tNAME\tSTATUS", rows)
					})
				},
			},
		},
	}
}

func DevicesCommand() *ucli.Command {
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
				Flags: verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					path, err := verb.OneArg(c, "FILE")
					if err != nil {
						return err
					}
					data, err := verb.ReadLimited(path, devicefile.MaxSize)
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						res, err := cl.ImportDevices(c.Context, data)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return verb.PrintJSON(c, res)
						}
						fmt.Fprintf(c.App.Writer, "imported %d device(s): %d new, %d changed\n", res.Devices, res.Added, res.Changed)
						return nil
					})
				},
			},
			{
				Name: "list", Usage: "list registered devices",
				Description: "Party officers must name one of their own supplier users.\n\nExample:\n   smki devices list --supplier 90-B3-D5-1F-30-01-00-00 --officer ./supa-aro",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "supplier", Usage: "only this supplier user's devices"}}, verb.ClientFlags()...),
				Action: func(c *ucli.Context) error {
					sup, err := verb.EUIFlag(c, "supplier", false)
					if err != nil {
						return err
					}
					return verb.WithClient(c, func(cl *raclient.Client) error {
						ds, err := cl.ListDevices(c.Context, sup)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, d := range ds {
							rows = append(rows, []string{d.Device.String(), d.SupplierUser.String(), strconv.Itoa(d.SMETS), d.ImportedBy})
						}
						return verb.Show(c, ds, "DEVICE\tSUPPLIER USER\tSMETS\tIMPORTED BY", rows)
					})
				},
			},
		},
	}
}

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
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "role", Usage: "User Role (SC)", Required: true},
					&ucli.StringFlag{Name: "allow", Usage: "comma-separated SRVs, e.g. 1.6"},
				}, verb.ClientFlags()...),
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
					return verb.WithClient(c, func(cl *raclient.Client) error {
						l, err := cl.SetAllowList(c.Context, r, srvs)
						if err != nil {
							return err
						}
						return verb.Show(c, l, "ROLE\tSRVS\tSOURCE", [][]string{{string(l.Role), strings.Join(l.SRVs, ","), l.Source}})
					})
				},
			},
			{
				Name: "show", Usage: "show every role's effective allow-list",
				Description: "Example:\n   smki policy show --officer ./admin --json",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.WithClient(c, func(cl *raclient.Client) error {
						ls, err := cl.Policy(c.Context)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, l := range ls {
							rows = append(rows, []string{string(l.Role), strings.Join(l.SRVs, ","), l.Source})
						}
						return verb.Show(c, ls, "ROLE\tSRVS\tSOURCE", rows)
					})
				},
			},
		},
	}
}
