package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smki/smki/raclient"
	ucli "github.com/urfave/cli/v2"
)

// Exit codes (contract, DESIGN.md section 5).
const (
	ExitOK     = 0
	ExitError  = 1 // the operation failed
	ExitUsage  = 2 // usage or I/O error
	ExitReject = 3 // refused by policy: a verifier reject or an RA E_* refusal (4xx)
)

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// commands returns every top-level verb. Each lives in its own file.
func commands() []*ucli.Command {
	return []*ucli.Command{
		caCommand(),
		serveCommand(),
		storeCommand(),
		testpkiCommand(),
		partyCommand(),
		userCommand(),
		officerCommand(),
		consoleCommand(),
		keygenCommand(),
		csrCommand(),
		enrollCommand(),
		revokeCommand(),
		certsCommand(),
		certCommand(),
		repoCommand(),
		trustCommand(),
		auditCommand(),
		solrCommand(),
		adtCommand(),
		devicesCommand(),
		policyCommand(),
		bundleCommand(),
		alertCommand(),
		docsCommand(),
		completionCommand(),
		signCommand(),
		verifyCommand(),
		verifierCommand(),
		demoCommand(),
		versionCommand(),
	}
}

// usageOnError makes a bad flag on any verb a usage error (exit 2), as it
// is on the application: urfave/cli asks only the failing command's own
// OnUsageError.
func usageOnError(cs []*ucli.Command) []*ucli.Command {
	for _, c := range cs {
		if c.OnUsageError == nil {
			c.OnUsageError = func(ctx *ucli.Context, err error, _ bool) error {
				name := ctx.Command.HelpName
				fmt.Fprintf(ctx.App.ErrWriter, "usage: %s\nrun '%s --help' for its flags\n",
					strings.TrimSpace(name+" [options] "+ctx.Command.ArgsUsage), name)
				return usageErr("%v", err)
			}
		}
		usageOnError(c.Subcommands)
	}
	return cs
}

// Main runs the application and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &ucli.App{
		Name:                 "smki",
		Usage:                "SMKI PKI and certificate lifecycle for the SoLR Contingency User Role (MP134B)",
		Commands:             usageOnError(commands()),
		Flags:                []ucli.Flag{versionFlag},
		Action:               rootAction,
		HideVersion:          true,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*ucli.Context, error) {},
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			return usageErr("%v", err)
		},
	}
	app.Metadata = map[string]any{"args": args}
	err := app.Run(args)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "smki:", err)
	return exitCode(err)
}

// exitCode is the one mapping from an error to the process exit code (the
// contract in docs/cli.md, "Exit codes"): the code a verb attached
// (withCode, usageErr: usage and I/O errors, the verifier's reject), a
// urfave/cli exit code, and ExitError for everything else -- an RA refusal
// (any E_RA_* code, raclient.APIError) included.
// exitCodeDoc is the exit-code table of docs/cli.md; exitCode below is
// the one place an error becomes one of these numbers.
const exitCodeDoc = `
# EXIT CODES

| code | meaning |
|---|---|
| 0 | done (smki verify: accept) |
| 1 | failed: I/O, server unreachable, an RA answer in the 5xx family, an internal error; E_RA_BUSY (503: contention, nothing changed) only once smki has retried it 5 times with growing waits, saying so on stderr |
| 2 | usage: unknown verb or flag, missing required flag, bad flag value (usage on stderr); smki verify: usage or I/O error |
| 3 | refused by policy: an E_* refusal from the RA (4xx family), or a verifier reject |
`

func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ec ucli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var ae *raclient.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		// The RA answered and refused (an E_* code in the 4xx family):
		// a policy refusal, like a verifier reject. 5xx is a failure.
		return ExitReject
	}
	return ExitError
}
