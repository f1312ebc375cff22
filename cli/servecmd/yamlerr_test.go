package servecmd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smki/smki/cli"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/librarytext"
)

// yamlText is the YAML library's prefix (not a file called smki.yaml:).
var yamlText = regexp.MustCompile(`(^|[^.])yaml: `)

// TestServeConfigYAMLInOwnWords: a config file that is not YAML is
// refused (exit 2, E_CONFIG) with FILE:LINE, the key it is at or after,
// and what is wrong in smki's words: never the YAML library's text
// ("yaml: line 2: mapping values are not allowed in this context").
func TestServeConfigYAMLInOwnWords(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, file, want string }{
		{"second colon", "data: /d\nlisten: a: b\n", `smki.yaml:2: key "listen": a second colon on one line`},
		{"unclosed list", "data: /d\ntls:\n  names: [a\n", `smki.yaml:2: key "tls": a list opened with [ is not closed with ]`},
		{"tab indent", "data: /d\n\tlisten: x\n", `smki.yaml:2: after key "data": a tab in the indentation`},
		{"no colon", "data: /d\nlisten x\nlog: y\n", `smki.yaml:2: after key "data": a line without a colon`},
		{"unclosed quote", "listen: 127.0.0.1:0\ndata: \"abc\n", `smki.yaml:2: key "data": the file ends inside a quoted value`},
		{"indentation", "data: /d\nlog:\n  level: info\n bad: 1\n", `smki.yaml:3: key "log.level": the indentation does not line up`},
		{"alias without anchor", "data: /d\nlisten: *x\n", `smki.yaml:2: key "listen": an alias (*name) with no anchor`},
		{"unknown escape", "data: /d\nlisten: \"\\q\"\n", `smki.yaml:2: key "listen": an unknown escape`},
		{"control character", "data: /d\nlisten: a\x01\n", `smki.yaml:2: key "listen": a control character`},
		{"not UTF-8", "data: /d\nlisten: \xff\n", `smki.yaml:2: key "listen": bytes that are not UTF-8`},
		{"list and keys mixed", "- a\nb: c\n", `smki.yaml:1: a list entry (- item) and key: value lines are mixed at one level`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := filepath.Join(t.TempDir(), "smki.yaml")
			if err := os.WriteFile(conf, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			code := cli.Main([]string{"smki", "serve", "--config", conf}, nil, &out, &errb)
			msg := errb.String()
			if code != verb.ExitUsage || !strings.Contains(msg, "E_CONFIG: "+filepath.Dir(conf)+"/"+tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, msg, "E_CONFIG: .../"+tt.want)
			}
			if m := librarytext.Find(msg); m != "" || yamlText.MatchString(msg) {
				t.Errorf("library text in the refusal: %q", msg)
			}
		})
	}
}
