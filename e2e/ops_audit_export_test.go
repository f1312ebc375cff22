package e2e

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAuditExport: `smki audit export` writes a stopped server's audit log
// as JSON Lines with the documented keys, every entry in order, each
// linked to the one before, the last one's hash the head `smki audit
// verify` reports; --from starts later; a refused --out leaves nothing.
func TestAuditExport(t *testing.T) {
	t.Parallel()
	srv, data, ra := devRA(t)
	ra.must("party", "create", "--id", "90-B3-D5-1F-30-00-00-0A", "--name", "supplier-a")
	srv.stop()
	var rep struct {
		Entries uint64 `json:"entries"`
		Head    string `json:"head"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, nil, "audit", "verify", "--data", data, "--json").stdout), &rep); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	mustRun(t, nil, "audit", "export", "--data", data, "--out", out)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n uint64
	prev := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		want := []string{"action", "actor", "detail", "hash", "prev_hash", "result", "seq", "subject", "time"}
		if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
			t.Fatalf("line %d keys %v, want %v", n, got, want)
		}
		if m["seq"].(float64) != float64(n) || m["prev_hash"] != prev {
			t.Fatalf("line %d: seq %v prev_hash %v, want %d and %q", n, m["seq"], m["prev_hash"], n, prev)
		}
		if _, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil || !strings.HasSuffix(m["time"].(string), "Z") {
			t.Fatalf("line %d: time %v", n, m["time"])
		}
		prev = m["hash"].(string)
	}
	if n != rep.Entries || prev != rep.Head {
		t.Fatalf("export: %d entries ending %s; audit verify: %d ending %s", n, prev, rep.Entries, rep.Head)
	}
	r := mustRun(t, nil, "audit", "export", "--data", data, "--from", "3")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); uint64(len(lines)) != n-2 || !strings.HasPrefix(lines[0], `{"seq":3,`) {
		t.Fatalf("--from 3: %d lines, first %.60s", len(lines), lines[0])
	}
	gone := filepath.Join(t.TempDir(), "gone", "audit.jsonl")
	if r := run(t, nil, "audit", "export", "--data", data, "--out", gone); r.code != 2 || strings.Contains(r.stderr, "no such file") {
		t.Fatalf("--out in a missing directory: exit %d %s", r.code, r.stderr)
	}
}
