package cli

import (
	"regexp"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
)

// requiredFlagsText is urfave/cli's refusal of a command line without a
// required flag (pinned by TestUsageErrorsCoded: an upgrade that changes
// it fails it).
var requiredFlagsText = regexp.MustCompile(`^Required flags? "(.*)" not set$`)

// requiredFlagsErr is err as E_USAGE (exit 2) when it is urfave/cli's
// refusal of a command line without a required flag of the verb args
// name; otherwise err.
func requiredFlagsErr(cmds []*ucli.Command, args []string, err error) error {
	m := requiredFlagsText.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	var flags []string
	for _, f := range strings.Split(m[1], ", ") { // each flag's first name
		flags = append(flags, verb.FlagName(f))
	}
	path := verbPath(cmds, args)
	return verb.UsageErr("%v: %s needs %s: run '%s --help' for its flags", verb.ErrUsage, path, strings.Join(flags, ", "), path)
}

// verbPath is the verb args names ("smki officer export"): the command
// names from args[1] on, up to the first flag or word that is not one.
func verbPath(cmds []*ucli.Command, args []string) string {
	path := "smki"
	for _, a := range args[1:] {
		var next *ucli.Command
		for _, c := range cmds {
			if c.HasName(a) {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		path += " " + next.Name
		cmds = next.Subcommands
	}
	return path
}
