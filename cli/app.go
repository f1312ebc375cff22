package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/smki/smki/cli/cacmd"
	"github.com/smki/smki/cli/certcmd"
	"github.com/smki/smki/cli/democmd"
	"github.com/smki/smki/cli/officercmd"
	"github.com/smki/smki/cli/registrycmd"
	"github.com/smki/smki/cli/repocmd"
	"github.com/smki/smki/cli/servecmd"
	"github.com/smki/smki/cli/solrcmd"
	"github.com/smki/smki/cli/storecmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/cli/verifycmd"
	ucli "github.com/urfave/cli/v2"
)

// commands returns every top-level verb, in the order --help and
// docs/cli.md list them. Each lives in the sub-package of its job.
func commands() []*ucli.Command {
	return []*ucli.Command{
		cacmd.Command(),
		servecmd.Command(),
		storecmd.Command(),
		democmd.TestPKICommand(),
		registrycmd.PartyCommand(),
		registrycmd.UserCommand(),
		officercmd.Command(),
		officercmd.ConsoleCommand(),
		certcmd.KeygenCommand(),
		certcmd.CSRCommand(),
		certcmd.EnrollCommand(),
		certcmd.RevokeCommand(),
		certcmd.CertsCommand(),
		certcmd.Command(),
		repocmd.Command(),
		verifycmd.TrustCommand(),
		storecmd.AuditCommand(),
		solrcmd.Command(),
		certcmd.SignerCommand(),
		solrcmd.ADTCommand(),
		registrycmd.DevicesCommand(),
		registrycmd.PolicyCommand(),
		verifycmd.BundleCommand(),
		verifycmd.AlertCommand(),
		docsCommand(),
		completionCommand(),
		verifycmd.SignCommand(),
		verifycmd.VerifyCommand(),
		verifycmd.VerifierCommand(),
		democmd.Command(),
		versionCommand(),
	}
}

// usageOnError makes a bad flag on any verb a usage error (E_USAGE, exit
// 2), as it is on the application: urfave/cli asks only the failing
// command's own OnUsageError.
func usageOnError(cs []*ucli.Command) []*ucli.Command {
	for _, c := range cs {
		if c.OnUsageError == nil {
			c.OnUsageError = func(ctx *ucli.Context, err error, _ bool) error {
				name := ctx.Command.HelpName
				fmt.Fprintf(ctx.App.ErrWriter, "usage: %s\n", strings.TrimSpace(name+" [options] "+ctx.Command.ArgsUsage))
				return verb.FlagUsageErr(name, err)
			}
		}
		usageOnError(c.Subcommands)
	}
	return cs
}

// parsing serialises the part of concurrent Main calls that urfave/cli
// runs before a verb's action: its set-up and flag parsing write values
// of its own package that every application shares (the help command that
// it adds under each command, and the help flag). One process runs one
// Main, but tests run many at once; without this, two of them race on
// those values. A call holds it until its verb's action begins (or it
// returns), so a long-running verb (serve) holds it only while its command
// line is read, and the root action, which may print the help, runs under
// it.
var parsing sync.Mutex

// releaseBeforeActions makes each command's action (in cs, and in their
// subcommands) call release before it runs.
func releaseBeforeActions(cs []*ucli.Command, release func()) []*ucli.Command {
	for _, c := range cs {
		if act := c.Action; act != nil {
			c.Action = func(ctx *ucli.Context) error {
				release()
				return act(ctx)
			}
		}
		releaseBeforeActions(c.Subcommands, release)
	}
	return cs
}

// Main runs the application and returns the process exit code. Several
// goroutines may call it at once (tests do): urfave/cli's set-up and
// parsing are serialised (parsing). One thing stays shared: urfave's help
// command, which adds itself under itself the first time it runs, so a
// process that ran `smki help` must not then walk the commands (`smki
// docs`); one Main per process, as the binary runs it, never meets this.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	parsing.Lock()
	release := sync.OnceFunc(parsing.Unlock)
	defer release()
	app := &ucli.App{
		Name:                 "smki",
		Usage:                "SMKI PKI and certificate lifecycle for the SoLR Contingency User Role (MP134B)",
		Commands:             releaseBeforeActions(usageOnError(requireFlagsOurselves(commands())), release),
		Flags:                []ucli.Flag{versionFlag()},
		Action:               rootAction,
		HideVersion:          true,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*ucli.Context, error) {},
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			return verb.FlagUsageErr("smki", err)
		},
	}
	// A subcommand that does not exist (smki officer frob, smki help
	// frob): urfave/cli asks CommandNotFound and then returns no error.
	var notFound error
	app.CommandNotFound = func(c *ucli.Context, name string) {
		path := "smki"
		if c.Command != nil && c.Command.HelpName != "" {
			path = c.Command.HelpName
		}
		notFound = verb.UsageErr("%v: %s has no subcommand %q: run '%s --help' for the list", verb.ErrUsage, path, name, path)
	}
	app.Metadata = map[string]any{"args": args}
	err := app.Run(args)
	if err == nil {
		err = notFound
	}
	if err == nil {
		return verb.ExitOK
	}
	fmt.Fprintln(stderr, "smki:", err)
	return verb.ExitCode(err)
}
