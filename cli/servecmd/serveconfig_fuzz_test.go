package servecmd

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/smki/smki/internal/errcodes"
)

// FuzzLoadServeFile: whatever smki serve --config names never panics the
// reader; a refusal is coded (E_CONFIG) in smki's words, with no YAML
// library text; an accepted file sets only known keys, each from a line of
// the file, booleans true or false and paths absolute, and round-trips:
// its settings written back as YAML read again to the same settings.
func FuzzLoadServeFile(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "smki.example.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("data: /d\nlisten: 127.0.0.1:8443\ntls:\n  names: [ra.example.org, 192.0.2.10]\n  cert: c.pem\nlog:\n  level: info\ndev: true\n"))
	f.Add([]byte("data: /d\nlisten: a: b\n"))
	f.Add([]byte("tls:\n  names: [a\n"))
	f.Add([]byte("data: \"\\q\"\n---\nx: 1\n"))
	f.Add([]byte("store: bbolt:db/smki.db?batch=off\nkms: pkcs11:token=smki?pin-source=/etc/pin\n"))
	f.Add([]byte("data: &a x\nready_file: *a\n"))
	known := map[string]serveSetting{}
	for _, s := range serveSettings() {
		known[s.key] = s
	}
	path := filepath.Join(f.TempDir(), "smki.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := loadServeFile(path)
		if err != nil {
			errcodes.CodedFrom(t, err, data)
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		tree := map[string]any{}
		for key, v := range got {
			s, ok := known[key]
			if !ok {
				t.Fatalf("accepted unknown key %q", key)
			}
			if v.line < 1 || v.line > lines {
				t.Fatalf("%s: line %d of a %d-line file", key, v.line, lines)
			}
			var val any = v.scalar
			switch s.kind {
			case kindBool:
				b, err := strconv.ParseBool(strings.ToLower(v.scalar))
				if err != nil {
					t.Fatalf("%s: accepted %q as a boolean", key, v.scalar)
				}
				val = b
			case kindList:
				val = v.list
			case kindPath:
				if v.scalar != "" && !filepath.IsAbs(v.scalar) {
					t.Fatalf("%s: path %q left relative", key, v.scalar)
				}
			}
			m := tree
			parts := strings.Split(key, ".")
			for _, p := range parts[:len(parts)-1] {
				if m[p] == nil {
					m[p] = map[string]any{}
				}
				m = m[p].(map[string]any)
			}
			m[parts[len(parts)-1]] = val
		}
		again, err := yaml.Marshal(tree)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, again, 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := loadServeFile(path)
		if err != nil {
			t.Fatalf("written back as\n%s\nrefused: %v", again, err)
		}
		for key, v := range back {
			w := got[key]
			if v.scalar != w.scalar && !(known[key].kind == kindBool) || !reflect.DeepEqual(v.list, w.list) {
				t.Fatalf("%s: %q %q written back reads %q %q", key, w.scalar, w.list, v.scalar, v.list)
			}
		}
		if len(back) != len(got) {
			t.Fatalf("%d settings written back read as %d", len(got), len(back))
		}
	})
}
