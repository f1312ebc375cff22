package errcodes

import (
	"regexp"
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
	if err == nil {
		t.Fatal("a nil error where a refusal was wanted")
	}
	msg := err.Error()
	if codeRE.FindString(msg) == "" {
		t.Fatalf("uncoded refusal: %v", err)
	}
	if m := librarytext.Find(msg); m != "" {
		t.Fatalf("library text %q in the refusal: %v", m, err)
	}
}
