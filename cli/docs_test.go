package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

// TestCLIReferenceIsCurrent keeps docs/cli.md what `smki docs` generates:
// the reference is never edited by hand, so a verb or flag change must
// regenerate it (smki docs --out docs/cli.md).
func TestCLIReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := Main([]string{"smki", "docs"}, nil, &out, &errb); code != 0 {
		t.Fatalf("smki docs: exit %d: %s", code, errb.String())
	}
	committed, err := os.ReadFile(filepath.Join("..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), committed) {
		t.Fatal("docs/cli.md is stale: run `go run ./cmd/smki docs --out docs/cli.md`")
	}
}

// TestEveryVerbHasAnExample: the help of every verb that does something
// (a command with an Action) shows at least one example invocation.
func TestEveryVerbHasAnExample(t *testing.T) {
	t.Parallel()
	var walk func(path string, cs []*ucli.Command)
	walk = func(path string, cs []*ucli.Command) {
		for _, c := range cs {
			name := path + " " + c.Name
			if c.Action != nil && !strings.Contains(c.Description, "smki ") {
				t.Errorf("%s: --help shows no example (Description has no \"smki ...\" line)", strings.TrimSpace(name))
			}
			walk(name, c.Subcommands)
		}
	}
	walk("smki", commands())
}
