// Package need owns the rule for a test that depends on something outside
// Go -- a tool, a data set, a server, a browser: where it is missing, the
// test skips with a message naming it, except in CI (CI=true), where the
// same message fails the test. A CI machine that lost a dependency must go
// red, not quietly green with the test never run. Every such dependency
// in the repository goes through Missing (directly or through Tool);
// internal/skipcheck then lists the skips a run still had.
package need

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Prefix starts every message Missing writes, so a skip can be told from
// any other (internal/skipcheck reads it).
const Prefix = "needs "

// InCI reports whether this is a CI run (CI=true), where nothing a test
// needs may be missing.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing ends t because what is unavailable (why says how it was looked
// for and how to get it): t.Fatal in CI, t.Skip elsewhere, with the same
// message.
func Missing(t testing.TB, what, why string) {
	t.Helper()
	Unavailable(t, what, why, InCI())
}

// Unavailable is Missing for a dependency with its own switch besides CI
// (SMKI_REQUIRE_POSTGRES=1, for one): required makes it a failure too.
func Unavailable(t testing.TB, what, why string, required bool) {
	t.Helper()
	msg := Message(what, why)
	if required || InCI() {
		t.Fatal(msg + " (required here: .ci/run installs it in CI)")
	}
	t.Skip(msg)
}

// Message is the text Missing reports for what.
func Message(what, why string) string {
	return fmt.Sprintf("%s%s: %s", Prefix, what, why)
}

// Tool returns the path of the program name, or ends t (see Missing)
// with pkg, the Debian package that provides it, in the message.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, fmt.Sprintf("not on PATH (Debian package %s)", pkg))
	}
	return p
}

// File returns path if it exists, or ends t (see Missing) naming what.
func File(t testing.TB, what, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, what, fmt.Sprintf("%s not found", path))
	}
	return path
}
