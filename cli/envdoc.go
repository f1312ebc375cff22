package cli

import (
	"fmt"
	"sort"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// envOnly are the environment variables read without a flag of their own:
// the verbs that read each, and what it means.
var envOnly = map[string]struct{ verbs, usage string }{
	"SMKI_PASSPHRASE": {"`smki ca`, `smki serve`", "the CA key passphrase itself, read when no passphrase file is given (development only: prefer `--passphrase-file`)"},
	"HTTPS_PROXY": {"the client verbs (`--ra`) and `smki verifier serve --ra`", "URL of the HTTPS proxy (e.g. `http://proxy.example:3128`) to reach the RA through; " +
		"the client opens a CONNECT tunnel, so TLS and the officer credential stay end to end with the RA. " +
		"`https_proxy` is read too; Go's rules (`http.ProxyFromEnvironment`): never used for `localhost` or a loopback address"},
	"NO_PROXY": {"the client verbs (`--ra`) and `smki verifier serve --ra`", "comma-separated hosts (`ra.example`), domains (`.example`), IP addresses or CIDR ranges reached without the proxy; `*` for all. `no_proxy` is read too"},
}

// envDoc is the "Environment variables" section of docs/cli.md: every
// SMKI_* variable, generated from the flag definitions (each flag's
// EnvVars) so it cannot drift from what the binary reads.
func envDoc(app *ucli.App) string {
	type row struct {
		flag, usage string
		verbs       []string
	}
	rows := map[string]*row{}
	var walk func(path string, flags []ucli.Flag, cmds []*ucli.Command)
	walk = func(path string, flags []ucli.Flag, cmds []*ucli.Command) {
		for _, f := range flags {
			df, ok := f.(ucli.DocGenerationFlag)
			if !ok {
				continue
			}
			for _, env := range df.GetEnvVars() {
				r := rows[env]
				if r == nil {
					r = &row{flag: "--" + f.Names()[0], usage: df.GetUsage()}
					rows[env] = r
				}
				if u := df.GetUsage(); !strings.Contains(r.usage, u) {
					r.usage += "; for `" + strings.TrimSpace(path) + "`: " + u // one variable, two meanings (SMKI_CONFIG)
				}
				r.verbs = append(r.verbs, strings.TrimSpace(path))
			}
		}
		for _, c := range cmds {
			walk(path+" "+c.Name, c.Flags, c.Subcommands)
		}
	}
	walk("smki", app.Flags, app.Commands)
	names := make([]string, 0, len(rows)+len(envOnly))
	for n := range rows {
		names = append(names, n)
	}
	for n := range envOnly {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("\n# ENVIRONMENT VARIABLES\n\nEvery variable the binary reads, generated from the flag definitions (and, for the few without a\nflag, from one list beside them). A flag on the command line wins over its variable.\n\n| Variable | Flag | Verbs | Meaning |\n|---|---|---|---|\n")
	for _, n := range names {
		if e, ok := envOnly[n]; ok {
			fmt.Fprintf(&b, "| `%s` | — | %s | %s |\n", n, e.verbs, e.usage)
			continue
		}
		r := rows[n]
		verbs := r.verbs
		if len(verbs) > 4 {
			verbs = append(verbs[:3:3], fmt.Sprintf("and %d more", len(r.verbs)-3))
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", n, r.flag, strings.Join(quoteAll(verbs), ", "), strings.ReplaceAll(r.usage, "|", "\\|"))
	}
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if strings.HasPrefix(s, "and ") {
			out[i] = s
			continue
		}
		out[i] = "`" + s + "`"
	}
	return out
}
