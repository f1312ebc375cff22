package e2e

import (
	"strings"
	"testing"
)

// requirement tags t with the requirement IDs it proves (R1-R7 of the
// seed, L1-L8 of the lifecycle; see internal/conformancegen). The tag is a
// log line that `make conformance` reads from `go test -json` to build
// docs/conformance.md.
func requirement(t *testing.T, ids ...string) {
	t.Helper()
	t.Logf("requirement: %s", strings.Join(ids, ","))
}
