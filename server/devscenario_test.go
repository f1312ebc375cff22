package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/testpki"
)

// TestDevScenarioNotLeftPartial: smki serve --dev builds its test PKI
// scenario (DATA/testpki) whole or not at all: a build that fails (here a
// cancelled start; a crash alike) leaves no DATA/testpki, which the next
// start would take as built and never finish, and no temporary directory;
// the next start builds it whole.
func TestDevScenarioNotLeftPartial(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	dir := filepath.Join(data, "testpki")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := devScenario(cancelled, dir); err == nil {
		t.Fatal("devScenario with a cancelled context succeeded; the test needs a build that fails")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("a failed build left %s: the next start takes it as built", dir)
	}
	if err := devScenario(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, testpki.CasesFile)); err != nil {
		t.Errorf("the scenario built after a failed one has no %s: %v", testpki.CasesFile, err)
	}
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind in the data directory: %s", e.Name())
		}
	}
}
