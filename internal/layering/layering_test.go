package layering

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/smki/smki/internal/need"
)

const mod = "github.com/smki/smki/"

// deps lists pkg's transitive dependencies (go list -deps), or with direct
// only its own imports.
func deps(t *testing.T, goBin, pkg string, direct bool) []string {
	t.Helper()
	args := []string{"list", "-deps", mod + pkg}
	if direct {
		args = []string{"list", "-f", `{{join .Imports "\n"}}`, mod + pkg}
	}
	out, err := exec.Command(goBin, args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// TestImportRules: each row names a package, whether the rule is about its
// direct imports or all its dependencies, and the import paths (exact, or
// a prefix ending in "/" or "*") it must not reach.
func TestImportRules(t *testing.T) {
	t.Parallel()
	goBin := need.Tool(t, "go", "golang (the go command lists the import graph)")
	rules := []struct {
		pkg       string
		direct    bool
		forbidden []string
	}{
		// The RA and the verifier meet only in the contract.
		{"ra", false, []string{mod + "verifier*"}},
		{"bundle", false, []string{mod + "ra*", mod + "verifier*", mod + "store", mod + "ca", mod + "server"}},
		{"bundle/policy", false, []string{mod + "ra*", mod + "verifier*", mod + "store", mod + "ca"}},
		{"verifier", false, []string{mod + "ra*", mod + "ca", mod + "store*", mod + "server", mod + "cli"}},
		// Decisions carry no transport.
		{"ra", true, []string{"net/http", "github.com/prometheus/*"}},
		// ra's sub-packages sit below it: they decide nothing and never
		// call back up; the RA's own PKI touches no store.
		{"ra/ownpki", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi"}},
		{"ra/records", false, []string{mod + "ca"}},
		{"ra/ownpki", true, []string{mod + "store*", "net/http"}},
		{"ra/auditcheck", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi", mod + "ca", "net/http"}},
		// The RA's codes and its stored records sit below every RA package.
		{"ra/raerr", false, []string{mod + "ra", mod + "ra/records", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient", mod + "ca", mod + "ra/ownpki"}},
		// The CA's codes are values a client can know without linking the CA.
		{"ca/caerr", false, []string{mod + "ca", mod + "ra*", mod + "store*", mod + "bundle*"}},
		{"ra/records", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient"}},
		{"ra/internal/feedhub", false, []string{mod + "ra", mod + "ra/raserver"}},
		{"ra/publish", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient", mod + "verifier*"}},
		{"ra/publish", true, []string{"net/http"}},
		{"ra/eligibility", false, []string{mod + "ra", mod + "ra/records", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient"}},
		{"ra/accessguard", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient"}},
		{"ra/accessguard", true, []string{"net/http"}},
		{"ra/authz", true, []string{mod + "ra", mod + "ra/records", "net/http"}},
		{"ra/solr", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient", mod + "ra/publish"}},
		{"ra/solr", true, []string{"net/http"}},
		{"ra/registry", false, []string{mod + "ra", mod + "ra/raserver", mod + "ra/raapi", mod + "raclient", mod + "ra/publish", mod + "ra/solr"}},
		{"ra/registry", true, []string{"net/http"}},
		// The RA's test fixtures sit below ra, whose own tests (package ra)
		// import them, and no product links them.
		{"ra/ratest", false, []string{mod + "ra", mod + "ra/raserver", mod + "console"}},
		{"cmd/smki", false, []string{mod + "ra/ratest"}},
		// One conversion, nothing of ours.
		{"internal/ecdsaraw", false, []string{mod + "ra*", mod + "verifier*", mod + "bundle*", mod + "ca", mod + "store*"}},
		// One rule shared by the CA and the verifier: it links neither.
		{"internal/crlfresh", false, []string{mod + "ra*", mod + "verifier*", mod + "bundle*", mod + "ca", mod + "store*"}},
		// The wire format and the client never link the server.
		// Both speak the wire types only: neither links the RA's decisions
		// (ra) nor the CA; the CA's codes and profile names come from
		// ca/caerr and ca/profilename.
		{"ra/raapi", false, []string{mod + "ra", mod + "ca", mod + "ra/raserver", mod + "raclient", "github.com/prometheus/*"}},
		{"raclient", false, []string{mod + "ra", mod + "ca", mod + "ra/raserver", mod + "server", "github.com/prometheus/*"}},
	}
	for _, r := range rules {
		for _, d := range deps(t, goBin, r.pkg, r.direct) {
			for _, f := range r.forbidden {
				hit := d == f
				if p, ok := strings.CutSuffix(f, "*"); ok {
					hit = strings.HasPrefix(d, p)
				}
				if hit {
					t.Errorf("%s reaches %s (forbidden: %s; direct imports only: %v)", r.pkg, d, f, r.direct)
				}
			}
		}
	}
}
