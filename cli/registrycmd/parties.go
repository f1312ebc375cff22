package registrycmd

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/certcmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

const (
	partyHeader = "ID\tNAME\tSTATUS"
	userHeader  = "ID\tPARTY\tROLE\tNAME\tSTATUS"
)

func partyRow(p ra.Party) []string { return []string{p.ID.String(), p.Name, p.Status} }

func userRow(u ra.User) []string {
	return []string{u.ID.String(), u.PartyID.String(), string(u.Role), u.Name, u.Status}
}

// PartyCommand is smki party: SEC Parties.
func PartyCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "party",
		Usage: "SEC Parties (RA operators)",
		Subcommands: []*ucli.Command{
			{
				Name: "create", Usage: "register a SEC Party",
				Description: "Example:\n   smki party create --id 90-B3-D5-1F-30-00-00-0A --name supplier-a",
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "id", Usage: "Party ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "party name", Required: true},
				),
				Action: func(c *ucli.Context) error {
					id, err := verb.EUIFlag(c, "id", true)
					if err != nil {
						return err
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.Party, error) {
						return cl.CreateParty(c.Context, id, c.String("name"))
					}, verb.One(c, partyHeader, partyRow))
				},
			},
			partyStatusCommand("suspend", "suspended", "suspend a party: verifiers following the feed refuse its users' requests (PARTY) within a second (ra-operator)"),
			partyStatusCommand("reinstate", "active", "reinstate a suspended party (ra-operator)"),
			{
				Name: "list", Usage: "list parties",
				Description: "Example:\n   smki party list --json",
				Flags:       verb.ClientFlags(),
				Action: func(c *ucli.Context) error {
					return verb.Call(c, func(cl *raclient.Client) ([]ra.Party, error) {
						return cl.ListParties(c.Context)
					}, verb.Each(c, partyHeader, partyRow))
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
		Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "id", Usage: "Party ID (EUI-64)", Required: true}),
		Action: func(c *ucli.Context) error {
			id, err := verb.EUIFlag(c, "id", true)
			if err != nil {
				return err
			}
			return verb.Call(c, func(cl *raclient.Client) (ra.Party, error) {
				return cl.SetPartyStatus(c.Context, id, status)
			}, verb.One(c, partyHeader, partyRow))
		},
	}
}

// UserCommand is smki user: User IDs and their User Roles.
func UserCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "user",
		Usage: "User IDs and their User Roles (RA operators)",
		Subcommands: []*ucli.Command{
			{
				Name: "create", Usage: "register a User ID for a party with one User Role",
				Description: "Example:\n   smki user create --id 90-B3-D5-1F-30-05-00-00 --party 90-B3-D5-1F-30-00-00-5C --role SC --name srp-sc",
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "id", Usage: "User ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "role", Usage: "User Role: IS, ES, GS, RSA, ED, GT, OU or SC", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "display name", Required: true},
				),
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
					return verb.Call(c, func(cl *raclient.Client) (ra.User, error) {
						return cl.CreateUser(c.Context, id, party, r, c.String("name"))
					}, verb.One(c, userHeader, userRow))
				},
			},
			{
				Name: "withdraw", Usage: "withdraw a User ID (its party's User Role) and revoke its certificates; a dry run without --yes (ra-operator)",
				Description: `Withdrawn is final: the User ID gets no certificate again and stays taken.
With --yes one transaction marks the user withdrawn, revokes every good
certificate of it (default reason privilegeWithdrawn), reissues the ORL and
writes the audit record; verifiers following the feed refuse the certificates
from their next page. Without --yes it prints what would be revoked and changes
nothing. A user an open SoLR event names is refused (E_RA_EVENT_STATE): close
the event first.

Examples:
   smki user withdraw --id 90-B3-D5-1F-30-05-00-00          # dry run
   smki user withdraw --id 90-B3-D5-1F-30-05-00-00 --yes`,
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "id", Usage: "User ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "reason", Usage: "RFC 5280 reason of the revocations (name or number)", Value: "privilegeWithdrawn"},
					&ucli.BoolFlag{Name: "yes", Usage: "withdraw (without it: dry run)"},
				),
				Action: func(c *ucli.Context) error {
					id, err := verb.EUIFlag(c, "id", true)
					if err != nil {
						return err
					}
					reason, err := ra.ParseReason(c.String("reason"))
					if err != nil {
						return verb.UsageErr("--reason: %v", err)
					}
					return verb.Call(c, func(cl *raclient.Client) (ra.UserWithdrawal, error) {
						return cl.WithdrawUser(c.Context, id, reason, c.Bool("yes"))
					}, func(w ra.UserWithdrawal) error {
						verb.Table(c, userHeader, [][]string{userRow(w.User)})
						return certcmd.PrintRevocation(c, w.Revocation, "add --yes to withdraw the user and revoke them")
					})
				},
			},
			{
				Name: "list", Usage: "list users, optionally of one party",
				Description: "Example:\n   smki user list --party 90-B3-D5-1F-30-00-00-5C",
				Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)"}),
				Action: func(c *ucli.Context) error {
					party, err := verb.EUIFlag(c, "party", false)
					if err != nil {
						return err
					}
					return verb.Call(c, func(cl *raclient.Client) ([]ra.User, error) {
						return cl.ListUsers(c.Context, party)
					}, verb.Each(c, userHeader, userRow))
				},
			},
		},
	}
}
