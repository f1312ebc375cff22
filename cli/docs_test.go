package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
