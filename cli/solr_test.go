package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
)

// TestFlagsAfterPositional: `smki solr approve ID --ra URL --officer DIR`
// applies the flags given after the ID (urfave/cli alone would not).
func TestFlagsAfterPositional(t *testing.T) {
	t.Parallel()
	missing := t.TempDir() + "/no-such-credential"
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"flags after the ID reach the client", []string{"solr", "approve", "solr-1", "--ra", "https://127.0.0.1:1", "--officer", missing}, verb.ExitUsage, "credential"},
		{"flags before the ID", []string{"solr", "show", "--ra", "https://127.0.0.1:1", "--officer", missing, "solr-1"}, verb.ExitUsage, "credential"},
		{"--flag=value form", []string{"solr", "close", "solr-1", "--ra=https://127.0.0.1:1", "--officer=" + missing, "--json"}, verb.ExitUsage, "credential"},
		{"two IDs", []string{"solr", "approve", "a", "b", "--ra", "https://127.0.0.1:1"}, verb.ExitUsage, "want exactly one event ID"},
		{"unknown flag after the ID", []string{"solr", "approve", "a", "--nope"}, verb.ExitUsage, "E_USAGE: smki solr approve has no flag --nope"},
		{"flag without its value", []string{"devices", "import", "f.csv", "--officer"}, verb.ExitUsage, "E_USAGE: --officer needs a value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(append([]string{"smki"}, tc.args...), strings.NewReader(""), &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, errb.String(), tc.code, tc.want)
			}
		})
	}
}
