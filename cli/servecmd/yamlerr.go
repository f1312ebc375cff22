package servecmd

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/smki/smki/cli/verb"
)

// yamlRefusal puts the YAML library's refusal of config file path (its
// bytes b) in smki's words: E_CONFIG, FILE:LINE (the line the library
// gave, or for the refusals it gives none, the line smki finds the
// offending text on), the key at or before that line, and what is wrong.
// The library's own text ("yaml: line 2: mapping values are not allowed in
// this context") never reaches the user.
func yamlRefusal(path string, b []byte, err error) error {
	m := yamlErrText.FindStringSubmatch(err.Error())
	line, problem := 0, err.Error()
	if m != nil {
		line, _ = strconv.Atoi(m[1])
		problem = m[2]
	}
	words := "the file is not YAML here: check the indentation (spaces), the colons and the quotes"
	var find func(string) bool // where the problem is, when the library gives no line
	for _, w := range yamlWords {
		if strings.Contains(problem, w.lib) {
			words, find = w.smki, w.find
			if w.findName != nil {
				if n := w.findName.FindStringSubmatch(problem); n != nil {
					name := n[1]
					find = func(l string) bool { return strings.Contains(l, "*"+name) }
				}
			}
			break
		}
	}
	lines := strings.Split(string(b), "\n")
	if line == 0 && find != nil {
		for i, l := range lines {
			if find(l) {
				line = i + 1
				break
			}
		}
	}
	if line == 0 {
		return verb.UsageErr("E_CONFIG: %s: %s", path, words)
	}
	where := ""
	if key, at := keyAt(lines, line); key != "" && at == line {
		where = fmt.Sprintf("key %q: ", key)
	} else if key != "" {
		where = fmt.Sprintf("after key %q: ", key)
	}
	return verb.UsageErr("E_CONFIG: %s:%d: %s%s", path, line, where, words)
}

// yamlErrText is the form of go.yaml.in/yaml/v3's syntax errors.
var yamlErrText = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlWords: each syntax error the YAML library gives (a piece of its
// text), in smki's words, and for those it gives no line for, how to find
// the line.
var yamlWords = []struct {
	lib, smki string
	find      func(line string) bool
	findName  *regexp.Regexp // an alias's name in lib's text
}{
	{lib: "mapping values are not allowed", smki: "a second colon on one line, or a key indented under a value: quote a value that holds \": \", and put each key on a line of its own"},
	{lib: "expected ',' or ']'", smki: "a list opened with [ is not closed with ]"},
	{lib: "expected ',' or '}'", smki: "a mapping opened with { is not closed with }"},
	{lib: "tab character", smki: "a tab in the indentation: indent with spaces"},
	{lib: "could not find expected ':'", smki: "a line without a colon: each setting is key: value"},
	{lib: "unexpected end of stream", smki: "the file ends inside a quoted value: close the quote"},
	{lib: "did not find expected key", smki: "the indentation does not line up: indent the keys of one section by the same number of spaces"},
	{lib: "expected '-' indicator", smki: "a list entry (- item) and key: value lines are mixed at one level: the config file is a mapping of key: value"},
	{lib: "unknown anchor", smki: "an alias (*name) with no anchor (&name) before it: write the value itself",
		find: func(l string) bool { return strings.Contains(l, "*") }, findName: regexp.MustCompile(`unknown anchor '([^']*)'`)},
	{lib: "tag handle", smki: "a tag (!...) smki does not take: write the value plain or in quotes",
		find: func(l string) bool { return strings.Contains(l, "!") }},
	{lib: "escape character", smki: "an unknown escape (\\...) in a double-quoted value: write \\\\ for a backslash, or use single quotes",
		find: func(l string) bool { return strings.Contains(l, `\`) }},
	{lib: "control characters", smki: "a control character: the config file must be plain text",
		find: func(l string) bool { return strings.ContainsFunc(l, isControl) }},
	{lib: "UTF-8", smki: "bytes that are not UTF-8 text: save the file as UTF-8",
		find: func(l string) bool { return !utf8.ValidString(l) }},
	{lib: "directive", smki: "a %YAML or %TAG directive smki does not take: remove it"},
}

// isControl: a character YAML refuses in a file (a tab is allowed).
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\r') || r == 0x7f
}

// keyLine is a line that sets a key (indented by spaces only; a list
// entry's key too).
var keyLine = regexp.MustCompile(`^( *)(?:- +)?([A-Za-z0-9_.-]+) *:(?:\s|$)`)

// keyAt returns the key (dotted under its sections: tls.names) set on
// line n (1-based) or the last one before it, and the line it is on.
func keyAt(lines []string, n int) (string, int) {
	for i := min(n, len(lines)) - 1; i >= 0; i-- {
		m := keyLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		key, indent := m[2], len(m[1])
		for j := i - 1; j >= 0 && indent > 0; j-- {
			if p := keyLine.FindStringSubmatch(lines[j]); p != nil && len(p[1]) < indent {
				key, indent = p[2]+"."+key, len(p[1])
			}
		}
		return key, i + 1
	}
	return "", 0
}
