package cli

import (
	"bytes"
	ucli "github.com/urfave/cli/v2"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
)

// TestUsageErrorsCoded: every usage error urfave/cli finds (a required
// flag missing, a flag the verb does not have, a flag without its value,
// a verb or subcommand that does not exist) exits 2 (docs/cli.md, "Exit
// codes") with the stable code E_USAGE, names what is wrong in smki's
// words, and says where the flags are. Before, a missing required flag
// exited 1 with urfave/cli's "Required flags ... not set", an unknown
// flag exited 2 with the flag package's text, and an unknown subcommand
// exited 3 (refused by policy) with "No help topic".
func TestUsageErrorsCoded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"required flags missing", []string{"enroll"}, []string{"--user-id", "--profile", "--csr", "smki enroll --help"}},
		{"one required flag missing", []string{"keygen"}, []string{"--out", "smki keygen --help"}},
		{"required flag of a subcommand", []string{"officer", "export", "--p12", "--officer", "x"}, []string{"--out", "smki officer export --help"}},
		{"unknown flag", []string{"enroll", "--bogus", "x"}, []string{"--bogus", "smki enroll --help"}},
		{"unknown flag of the application", []string{"--bogus"}, []string{"--bogus", "smki --help"}},
		{"flag without its value", []string{"keygen", "--out"}, []string{"--out", "smki keygen --help"}},
		{"unknown verb", []string{"frobnicate"}, []string{"frobnicate", "smki help"}},
		{"unknown subcommand", []string{"officer", "frob"}, []string{"frob", "smki officer --help"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(append([]string{"smki"}, tc.args...), strings.NewReader(""), &out, &errb)
			stderr := errb.String()
			// Nothing on stdout, where a script's output goes (smki
			// enroll ... > cert.pem): urfave/cli printed the verb's whole
			// help there for a missing required flag.
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
			if code != verb.ExitUsage {
				t.Errorf("exit %d, want 2: %s", code, stderr)
			}
			if !strings.Contains(stderr, "smki: E_USAGE: ") {
				t.Errorf("%q has no E_USAGE", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%q does not say %q", stderr, w)
				}
			}
			for _, lib := range []string{"Required flag", "provided but not defined", "No help topic", "needs an argument"} {
				if strings.Contains(stderr, lib) {
					t.Errorf("urfave/cli's or the flag package's text %q in %q", lib, stderr)
				}
			}
		})
	}
}

// TestEveryRequiredFlagCheckedBySmki: after Main's set-up no verb leaves
// a required flag to urfave/cli (which would print the verb's help to
// stdout on refusing it): a flag type requireFlagsOurselves cannot unmark
// would otherwise slip back to urfave's check unnoticed.
func TestEveryRequiredFlagCheckedBySmki(t *testing.T) {
	t.Parallel()
	var walk func(path string, cs []*ucli.Command)
	marked := 0
	walk = func(path string, cs []*ucli.Command) {
		for _, c := range cs {
			for _, f := range c.Flags {
				if r, ok := f.(ucli.RequiredFlag); ok && r.IsRequired() {
					t.Errorf("%s %s: --%s is still marked required for urfave/cli", path, c.Name, f.Names()[0])
				}
			}
			walk(path+" "+c.Name, c.Subcommands)
		}
	}
	for _, c := range commands() {
		var count func(cs []*ucli.Command)
		count = func(cs []*ucli.Command) {
			for _, c := range cs {
				for _, f := range c.Flags {
					if r, ok := f.(ucli.RequiredFlag); ok && r.IsRequired() {
						marked++
					}
				}
				count(c.Subcommands)
			}
		}
		count([]*ucli.Command{c})
	}
	if marked == 0 {
		t.Fatal("no verb marks a flag required: the test checks nothing")
	}
	walk("smki", requireFlagsOurselves(commands()))
}
