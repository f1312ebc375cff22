package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMutantsCurrent keeps the mutation list in step with the code, so
// that `make mutants` (not run by `make test`) cannot go stale unseen when
// code moves: every mutant's text occurs exactly once in its file, and the
// mutated file builds in its package (a mutant that does not build proves
// nothing). Three mutants had gone stale after the ra split before this
// test existed.
func TestMutantsCurrent(t *testing.T) {
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range mutants {
		t.Run(m.ID+"/"+filepath.Base(m.File), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(root, m.File))
			if err != nil {
				t.Fatalf("%s: %v (update the mutant list in internal/mutants)", m.What, err)
			}
			if n := bytes.Count(src, []byte(m.Old)); n != 1 {
				t.Fatalf("%s: the text to mutate occurs %d times in %s (update the mutant list)", m.What, n, m.File)
			}
			work := t.TempDir()
			mutated := filepath.Join(work, filepath.Base(m.File))
			if err := os.WriteFile(mutated, bytes.Replace(src, []byte(m.Old), []byte(m.New), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			j, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, m.File): mutated}})
			overlay := filepath.Join(work, "overlay.json")
			if err := os.WriteFile(overlay, j, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", "build", "-overlay", overlay, "./"+filepath.Dir(m.File))
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("mutant %d (%s) does not build: %v\n%s", i, m.What, err, out)
			}
		})
	}
}
