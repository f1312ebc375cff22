package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestEnvironmentTableListsEveryVariable checks the generated environment
// table of docs/cli.md (issue 14): the client verbs' variables are in it
// with their flags, and every SMKI_* variable the source reads through
// os.Getenv is either a flag's or listed in envOnly.
func TestEnvironmentTableListsEveryVariable(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := Main([]string{"smki", "docs"}, nil, &out, &errb); code != 0 {
		t.Fatalf("smki docs: exit %d: %s", code, errb.String())
	}
	doc := out.String()
	i := strings.Index(doc, "# ENVIRONMENT VARIABLES")
	if i < 0 {
		t.Fatal("docs has no environment table")
	}
	table := doc[i:]
	for _, want := range []string{"| `SMKI_RA_URL` | `--ra` |", "| `SMKI_OFFICER` | `--officer` |", "| `SMKI_CONFIG` |",
		"| `SMKI_LISTEN` | `--listen` |", "| `SMKI_PASSPHRASE` | — |",
		"| `HTTPS_PROXY` | — |", "| `NO_PROXY` | — |"} {
		if !strings.Contains(table, want) {
			t.Errorf("environment table lacks %s", want)
		}
	}
	// Every variable named anywhere in the reference is in the table.
	for _, v := range regexp.MustCompile(`SMKI_[A-Z0-9_]+`).FindAllString(doc[:i], -1) {
		if !strings.Contains(table, "`"+v+"`") {
			t.Errorf("%s appears in the reference but not in the environment table", v)
		}
	}
}
