package errcodes

import (
	"regexp"
	"strings"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// codeRE is a stable code at the start of a text (a string literal, a
// refusal).
var codeRE = regexp.MustCompile(`^E_[A-Z][A-Z0-9_]*[A-Z0-9]`)

// Coded fails t unless err (not nil) is a refusal in smki's words: its
// text starts with a stable code (E_...) and holds no library text.
func Coded(t testing.TB, err error) {
	t.Helper()
	CodedEchoing(t, err)
}

// CodedFrom is Coded for a fuzz target's refusal of input: library text
// that input itself holds (case aside) may be input the refusal quotes
// (a role named "pg", a file "panic.pem") and is not taken for the
// library's.
func CodedFrom(t testing.TB, err error, input []byte) {
	t.Helper()
	if err == nil {
		t.Fatal("a nil error where a refusal was wanted")
	}
	in := strings.ToLower(string(input))
	var echoed []string
	for _, m := range librarytext.FindAll(err.Error()) {
		if strings.Contains(in, strings.ToLower(m)) {
			echoed = append(echoed, m)
		}
	}
	CodedEchoing(t, err, echoed...)
}

// CodedEchoing is Coded for a refusal that may quote what its input
// named (a file name, a member's value): each of echoed is taken out of
// the text before it is searched for library text, since input may hold
// anything ("0000 pg" is a file name, not PostgreSQL's text).
func CodedEchoing(t testing.TB, err error, echoed ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("a nil error where a refusal was wanted")
	}
	msg := err.Error()
	if codeRE.FindString(msg) == "" {
		t.Fatalf("uncoded refusal: %v", err)
	}
	searched := msg
	for _, e := range echoed {
		if e != "" {
			searched = strings.ReplaceAll(searched, e, "")
		}
	}
	if m := librarytext.Find(searched); m != "" {
		t.Fatalf("library text %q in the refusal: %v", m, err)
	}
}
