package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevicesExportRoundTrip: smki devices export writes the registry as
// a device file that smki devices import takes unchanged (0 new, 0
// changed; a second export is the same file), with the other registrants
// and an ended registration; a change still to come refuses the export
// E_RA_DEVICE_EXPORT and writes no file.
func TestDevicesExportRoundTrip(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		is    = "90-B3-D5-1F-30-01-00-00"
		es    = "90-B3-D5-1F-30-01-00-01"
		ed    = "90-B3-D5-1F-30-06-00-01"
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", is, "--party", party, "--role", "IS", "--name", "a-is")
	ra.must("user", "create", "--id", es, "--party", party, "--role", "ES", "--name", "a-es")
	ra.must("user", "create", "--id", ed, "--party", party, "--role", "ED", "--name", "a-ed")
	imported := filepath.Join(work, "devices.csv")
	writeFile(t, imported, "device_eui64,supplier_user_id,smets,export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from\n"+
		"00-DB-12-34-56-78-90-A0,"+is+",2,"+es+",,"+ed+",\n"+
		"00-DB-12-34-56-78-90-A1,"+is+",1,,,"+ed+",2026-01-01T00:00:00Z\n"+
		"00-DB-12-34-56-78-90-A2,"+is+",2,,,,\n")
	ra.must("devices", "import", imported)
	// The export agent of A0 ends at once.
	ended := filepath.Join(work, "ended.csv")
	writeFile(t, ended, "device_eui64,supplier_user_id,smets,export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from\n"+
		"00-DB-12-34-56-78-90-A0,"+is+",2,-,,,\n")
	ra.must("devices", "import", ended)

	exported := filepath.Join(work, "export.csv")
	ra.must("devices", "export", "--out", exported)
	if r := ra.must("devices", "import", "--dry-run", exported); !strings.Contains(r.stdout, "would import 3 device(s): 0 new, 0 changed") {
		t.Fatalf("dry run of the export: %s", r.stdout)
	}
	if r := ra.must("devices", "import", exported); !strings.Contains(r.stdout, "imported 3 device(s): 0 new, 0 changed") {
		t.Fatalf("import of the export: %s\n%s", r.stdout, mustReadFile(t, exported))
	}
	again := ra.must("devices", "export").stdout
	if first := string(mustReadFile(t, exported)); again != first || !strings.Contains(first, "00-DB-12-34-56-78-90-A0,"+is+",2,-,,"+ed+",\n") {
		t.Fatalf("export after importing the export:\n%s\nwas\n%s", again, first)
	}

	// A change to come: the export is refused and writes nothing.
	later := filepath.Join(work, "later.csv")
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	writeFile(t, later, "device_eui64,supplier_user_id,smets,export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from\n"+
		"00-DB-12-34-56-78-90-A2,"+is+",2,,,"+ed+","+at+"\n")
	ra.must("devices", "import", later)
	refusedOut := filepath.Join(work, "refused.csv")
	ra.refused("E_RA_DEVICE_EXPORT", "devices", "export", "--out", refusedOut)
	if r := ra.run("devices", "export", "--out", refusedOut); !strings.Contains(r.stderr, "00-DB-12-34-56-78-90-A2 changes its network_operator registration at "+at) {
		t.Fatalf("the refusal does not name the device and when: %s", r.stderr)
	}
	if _, err := os.Stat(refusedOut); !os.IsNotExist(err) {
		t.Fatalf("a refused export wrote %s (%v)", refusedOut, err)
	}
}
