package cli

import (
	"errors"
	"fmt"
	"io"

	ucli "github.com/urfave/cli/v2"
)

// Exit codes (contract, DESIGN.md section 5).
const (
	ExitOK     = 0
	ExitError  = 1 // the operation failed
	ExitUsage  = 2 // usage or I/O error
	ExitReject = 3 // the verifier rejected the request
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
		keygenCommand(),
		csrCommand(),
		enrollCommand(),
		revokeCommand(),
		certsCommand(),
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
	}
}

// Main runs the application and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &ucli.App{
		Name:                 "smki",
		Usage:                "SMKI PKI and certificate lifecycle for the SoLR Contingency User Role (MP134B)",
		Commands:             commands(),
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*ucli.Context, error) {},
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			return usageErr("%v", err)
		},
	}
	err := app.Run(args)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "smki:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ec ucli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitError
}
