package e2e

import (
	"strings"
	"testing"
)

// TestUsageErrorsOnTheBinary: a command line the binary does not take is
// E_USAGE, exit 2, on stderr, and nothing on stdout, where a script's
// output goes (smki enroll ... > cert.pem): urfave/cli used to print a
// verb's whole help there for a missing required flag.
func TestUsageErrorsOnTheBinary(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"enroll"}, {"keygen"}, {"enroll", "--bogus", "x"}, {"frobnicate"}} {
		r := run(t, nil, args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "E_USAGE") {
			t.Errorf("smki %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, E_USAGE", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}
