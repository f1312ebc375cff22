package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
)

// requireFlagsOurselves takes the Required mark off every flag of cs
// (and of their subcommands) and checks it itself, in each command's
// Before: urfave/cli, refusing a command line without a required flag,
// prints the verb's whole help to stdout, where a script's output goes
// (smki enroll ... > cert.pem), and its refusal in its own words. The
// check runs where urfave/cli's did: after the flags are parsed and
// --help answered, before the verb's action. A flag type setRequired does
// not know keeps its mark (TestEveryRequiredFlagCheckedBySmki fails).
func requireFlagsOurselves(cs []*ucli.Command) []*ucli.Command {
	for _, c := range cs {
		var required []string
		for _, f := range c.Flags {
			if r, ok := f.(ucli.RequiredFlag); ok && r.IsRequired() && setRequired(f, false) {
				required = append(required, f.Names()[0])
			}
		}
		if len(required) > 0 {
			before := c.Before
			c.Before = func(ctx *ucli.Context) error {
				var missing []string
				for _, n := range required {
					if !ctx.IsSet(n) {
						missing = append(missing, n)
					}
				}
				if len(missing) > 0 {
					return verb.RequiredFlagsErr(ctx.Command.HelpName, missing)
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		requireFlagsOurselves(c.Subcommands)
	}
	return cs
}

// setRequired sets f's Required mark and reports whether it could: the
// flag types smki's verbs mark required.
func setRequired(f ucli.Flag, v bool) bool {
	switch f := f.(type) {
	case *ucli.StringFlag:
		f.Required = v
	case *ucli.BoolFlag:
		f.Required = v
	default:
		return false
	}
	return true
}
