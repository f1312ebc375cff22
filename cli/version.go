package cli

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/buildinfo"
)

// versionFlag is the global --version (no -v: verbs may want it), a new
// one for each run: urfave/cli writes into a flag as it parses.
func versionFlag() *ucli.BoolFlag {
	return &ucli.BoolFlag{Name: "version", Usage: "print the version, VCS revision and Go version, and exit"}
}

func versionCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print the version, VCS revision and time, and Go version of this binary",
		Description: `The same facts /healthz and the smki_build_info metric report. Release
builds (make build, make dist) carry the version from git describe;
other builds say "devel".

Example:
   smki version
   smki version --json`,
		Flags: []ucli.Flag{&ucli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *ucli.Context) error {
			in := buildinfo.Read()
			if c.Bool("json") {
				return verb.PrintJSON(c, in)
			}
			_, err := fmt.Fprintln(c.App.Writer, in)
			return err
		},
	}
}

// rootAction runs when no verb matched: --version prints the version, no
// arguments print the help, and anything else is an unknown verb (usage on
// stderr, exit 2).
func rootAction(c *ucli.Context) error {
	if c.Bool("version") {
		_, err := fmt.Fprintln(c.App.Writer, buildinfo.Read())
		return err
	}
	if c.Args().Present() {
		ucli.HelpPrinter(c.App.ErrWriter, ucli.AppHelpTemplate, c.App)
		return verb.UsageErr("%v: unknown verb %q (see the list above, or smki help)", verb.ErrUsage, c.Args().First())
	}
	return ucli.ShowAppHelp(c)
}
