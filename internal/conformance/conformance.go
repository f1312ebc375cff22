// Package conformance locates DCC's public conformance data (certificates,
// DUIS samples, GBCS vectors) for tests. The data lives in ../shared/
// beside the repository and is never copied into it. Tests that need it
// skip with a clear message on a clone that lacks it, except in CI (CI=true
// or SMKI_REQUIRE_CONFORMANCE=1), where its absence fails the test.
package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/smki/smki/internal/need"
)

// Dir returns the conformance directory, or skips (fails in CI) t.
func Dir(t testing.TB) string {
	t.Helper()
	d, err := Find()
	if err != nil {
		need.Unavailable(t, "DCC conformance data", fmt.Sprintf("not found (%v); it lives in ../shared/conformance beside the repository", err),
			os.Getenv("SMKI_REQUIRE_CONFORMANCE") == "1")
	}
	return d
}

// Path joins elem to the conformance directory (see Dir).
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

// Find returns the conformance directory: $SMKI_CONFORMANCE if set,
// otherwise ../shared/conformance beside the module root.
func Find() (string, error) {
	if d := os.Getenv("SMKI_CONFORMANCE"); d != "" {
		if _, err := os.Stat(d); err != nil {
			return "", err
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "conformance")
			if _, err := os.Stat(d); err != nil {
				return "", err
			}
			return filepath.Clean(d), nil
		}
		if filepath.Dir(dir) == dir {
			return "", os.ErrNotExist
		}
	}
}
