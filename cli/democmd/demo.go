package democmd

import (
	"errors"
	"os"
	"os/signal"
	"syscall"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/demo"
)

// Command is smki demo: the Supplier-failure night against a real server.
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "demo",
		Usage: "play the night a Supplier fails, end to end, against a real smki serve",
		Description: `Starts "smki serve --dev" (this binary) on 127.0.0.1 with a temporary data
directory (or --data DIR, which must not hold a store yet), then: RA set-up,
SRP enrolment through the CLI, an ADT file, the Authority's instruction with
four-eyes approval, the failed Supplier's scheduled revocation, the signed
bundle and revocation feed, a stream of signed Service Requests through the
verifier (accepted, and refused E1 E2 E4 AD1 SIG REVOKED REPLAY MALFORMED),
alert routing, closing the event (default deny again) and the audit chain.
The server is stopped at the end, also on failure or Ctrl-C.

Exits 0 only if every step behaved as MP134B requires, 1 otherwise.

Example:
   make build && ./bin/smki demo
   smki demo --json > demo.json`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "data", Usage: "server data `DIR` (kept; default a temporary directory, removed)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the step list and the request stream as JSON"},
		},
		Action: func(c *ucli.Context) error {
			exe, err := os.Executable()
			if err != nil {
				return verb.UsageErr("cannot find this binary to start the server from: %v", err)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			tty := false
			if f, ok := c.App.Writer.(*os.File); ok {
				tty = term.IsTerminal(int(f.Fd()))
			}
			err = demo.Run(ctx, demo.Options{Exe: exe, Data: c.String("data"), Out: c.App.Writer, TTY: tty, JSON: c.Bool("json")})
			if errors.Is(err, demo.ErrUsage) {
				return verb.WithCode(verb.ExitUsage, err)
			}
			return verb.WithCode(verb.ExitError, err)
		},
	}
}
