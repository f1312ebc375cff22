package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceImportSpreadsheetFile: an RA operator's device file as a
// spreadsheet saves it ("CSV UTF-8": a byte order mark, CRLF, empty rows
// after the data) imports on the real binary, after a dry run that says
// what the import will do and writes nothing; a file naming a user the RA
// does not know is refused as a whole (by a dry run first), naming the line, what to do and
// that nothing was imported, and the registry is as it was.
func TestDeviceImportSpreadsheetFile(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	const party, user = "90-B3-D5-1F-30-00-00-0A", "90-B3-D5-1F-30-01-00-00"
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	write := func(name, body string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sheet := write("sheet.csv", "\ufeffdevice_eui64,supplier_user_id,smets\r\n"+
		"00-DB-12-34-56-78-90-A0,"+user+",1\r\n"+
		"00-DB-12-34-56-78-90-A1,"+user+",2\r\n"+
		",,\r\n,,\r\n")
	// A dry run says what the import will do and writes nothing.
	if out := ra.must("devices", "import", "--dry-run", sheet).stdout; !strings.Contains(out, "dry run: would import 2 device(s): 2 new, 0 changed; nothing was written") {
		t.Fatalf("dry run: %s", out)
	}
	if out := ra.must("devices", "list").stdout; strings.Contains(out, user) {
		t.Fatalf("registry after a dry run:\n%s", out)
	}
	if out := ra.must("devices", "import", sheet).stdout; !strings.Contains(out, "imported 2 device(s): 2 new, 0 changed") {
		t.Fatalf("spreadsheet file: %s", out)
	}
	unknown := write("unknown.csv", "device_eui64,supplier_user_id,smets\n"+
		"00-DB-12-34-56-78-90-A2,"+user+",1\n"+
		"00-DB-12-34-56-78-90-A3,90-B3-D5-1F-30-01-00-77,1\n")
	ra.refused("E_RA_DEVICE_FILE", "devices", "import", "--dry-run", unknown)
	ra.refused("E_RA_DEVICE_FILE", "devices", "import", unknown)
	r := ra.run("devices", "import", unknown)
	for _, want := range []string{"line 3", "90-B3-D5-1F-30-01-00-77 is unknown: create it first (smki user create)", "nothing was imported"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal %q does not say %q", r.stderr, want)
		}
	}
	if out := ra.must("devices", "list").stdout; strings.Contains(out, "90-A2") || strings.Count(out, user) != 2 {
		t.Fatalf("registry after a refused file:\n%s", out)
	}
}
