package errcodes

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// root is the module root, relative to this package.
const root = "../.."

// refDoc and refHeading locate the reference the test reads.
const (
	refDoc     = "docs/api.md"
	refHeading = "## Every error code"
)

// sourceCodes walks every non-test Go file of the module and returns each
// code found at the start of a string literal, with where it first
// appears. Comments are not string literals, so a code named in prose
// ("E_CODE: message") is not one.
func sourceCodes(t *testing.T) map[string]string {
	t.Helper()
	codes := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "e2e") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if c := codeRE.FindString(s); c != "" {
				if _, seen := codes[c]; !seen {
					pos := fset.Position(lit.Pos())
					rel, _ := filepath.Rel(root, pos.Filename)
					codes[c] = rel + ":" + strconv.Itoa(pos.Line)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("walking the source: %v", err)
	}
	return codes
}

type row struct {
	line          int
	meaning, todo string
}

// docRows reads the reference table of refDoc: rows
// "| `E_X` | package | meaning | what to do |".
func docRows(t *testing.T) map[string]row {
	t.Helper()
	f, err := os.Open(filepath.Join(root, refDoc))
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer f.Close()
	rows := map[string]row{}
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == refHeading
			continue
		}
		if !in || !strings.HasPrefix(line, "| `E_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("%s:%d: a reference row has 4 cells (code, package, meaning, what to do), this has %d", refDoc, n, len(cells))
			continue
		}
		code := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if !codeRE.MatchString(code) || codeRE.FindString(code) != code {
			t.Errorf("%s:%d: %q is not a code", refDoc, n, code)
			continue
		}
		if prev, dup := rows[code]; dup {
			t.Errorf("%s:%d: %s listed again (first at line %d)", refDoc, n, code, prev.line)
		}
		rows[code] = row{line: n, meaning: strings.TrimSpace(cells[2]), todo: strings.TrimSpace(cells[3])}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no %q table", refDoc, refHeading)
	}
	return rows
}

// TestEveryCodeDocumented: each code in the source has a row with a
// meaning and a sentence saying what to do next, and each row is a code
// the source has.
func TestEveryCodeDocumented(t *testing.T) {
	t.Parallel()
	src, doc := sourceCodes(t), docRows(t)
	if len(src) < 100 {
		t.Fatalf("found only %d codes in the source: is the walk broken?", len(src))
	}
	var missing []string
	for c, at := range src {
		r, ok := doc[c]
		switch {
		case !ok:
			missing = append(missing, c+" ("+at+")")
		case r.meaning == "" || r.todo == "":
			t.Errorf("%s:%d: %s needs a meaning and what to do next", refDoc, r.line, c)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is not in %s %q: add a row saying what it means and what to do", m, refDoc, refHeading)
	}
	for c, r := range doc {
		if _, ok := src[c]; !ok {
			t.Errorf("%s:%d: %s is in the reference but no longer in the source: remove the row", refDoc, r.line, c)
		}
	}
}

// TestCodeRE: what counts as a code.
func TestCodeRE(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"E_REPO_NOT_FOUND", "E_REPO_NOT_FOUND"},
		{"E_OCSP_METHOD: send POST /ocsp", "E_OCSP_METHOD"},
		{"E_AUDIT_CHAIN_BROKEN: first broken link", "E_AUDIT_CHAIN_BROKEN"},
		{"E_", ""},
		{"the E_RA_FORBIDDEN code", ""},
		{"E_lower", ""},
	} {
		if got := codeRE.FindString(tt.in); got != tt.want {
			t.Errorf("code of %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}
