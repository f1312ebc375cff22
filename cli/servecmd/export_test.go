package servecmd

import ucli "github.com/urfave/cli/v2"

// NewLogger is newLogger for the external tests (package servecmd_test,
// which drive `smki serve` through cli.Main).
var NewLogger = newLogger

// LoadServeFile is loadServeFile for the external tests.
var LoadServeFile = loadServeFile

// GCPercent is gcPercent over the settings resolved from args (smki serve
// flags), with getenv standing in for the environment.
func GCPercent(args []string, getenv func(string) string) (int, bool, error) {
	var n int
	var apply bool
	var err error
	// HideHelp: urfave/cli adds its package-level help flag otherwise,
	// which tests running cli.Main at the same time write too (cli.Main
	// serialises its own runs, not this one).
	app := &ucli.App{Name: "smki", HideHelp: true, Flags: serveFlags(), Metadata: map[string]any{"args": args}, Action: func(c *ucli.Context) error {
		rs, rerr := resolveServe(c)
		if rerr != nil {
			return rerr
		}
		n, apply, err = gcPercent(rs, getenv)
		return nil
	}}
	if rerr := app.Run(append([]string{"smki"}, args...)); rerr != nil {
		return 0, false, rerr
	}
	return n, apply, err
}
