package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
)

// TestAllowListAndUploads: the SC allow-list is set through the RA's
// decision (refused for a party officer, audited with channel=console);
// an upload without the form's token is refused and imports nothing; a
// bad device file shows the RA's code next to the file field.
func TestAllowListAndUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ck, csrf := e.signIn("admin")
	w := e.do("POST", "/console/allow-list", url.Values{"csrf": {csrf}, "srvs": {"1.6, 8.1.1\n4.1.1"}}, ck, nil, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "1.6, 8.1.1, 4.1.1") {
		t.Fatalf("set allow-list: %d\n%s", w.Code, between(w.Body.String(), `id="allow-lists"`, "</table>"))
	}
	if a := e.lastAudit(ra.AuditQuery{Action: string(ra.ActSetAllowList)}); a.Result != "allowed" || !strings.HasSuffix(a.Detail, "channel=console") {
		t.Fatalf("audit %+v", a)
	}
	w = e.do("POST", "/console/allow-list", url.Values{"csrf": {csrf}, "srvs": {"99.99"}}, ck, nil, nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "E_RA_POLICY_INVALID") {
		t.Fatalf("unknown SRV: %d", w.Code)
	}
	aro, aroCSRF := e.signIn("aro-a")
	if w := e.do("POST", "/console/allow-list", url.Values{"csrf": {aroCSRF}, "srvs": {"1.6"}}, aro, nil, nil); w.Code != http.StatusForbidden {
		t.Fatalf("ARO sets the allow-list: %d", w.Code)
	}
	file := "device_eui64,supplier_user_id,smets\n00-00-00-00-00-00-00-01," + e.userA.String() + ",2\n"
	if w := e.do("POST", "/console/devices", url.Values{"devices": {file}}, ck, nil, nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "E_CONSOLE_CSRF") {
		t.Fatalf("device import without the token: %d", w.Code)
	}
	// userA is an SC user, not a supplier user: the RA refuses the line.
	w = e.do("POST", "/console/devices", url.Values{"csrf": {csrf}, "devices": {file}}, ck, nil, nil)
	body := w.Body.String()
	if w.Code == http.StatusOK || !strings.Contains(body, "E_RA_") {
		t.Fatalf("device file naming an SC user: %d", w.Code)
	}
	if i, j := strings.Index(body, `id="devices_file"`), strings.Index(body, `class="error"`); j < i {
		t.Fatal("the code is not shown next to the file field")
	}
	if w := e.do("GET", "/console/devices", nil, ck, nil, nil); !strings.Contains(w.Body.String(), "No devices.") {
		t.Fatal("a refused import registered devices")
	}
}

// TestDeviceImportDryRun: the console's device upload has the dry run of
// `smki devices import --dry-run`: "Check the file" runs the RA's
// CheckDevices (one owner with the CLI and POST /v1/devices?dry_run=true),
// says what the import would do in the CLI's words, or shows the refusal
// the import would get, and writes nothing; the audit records it as a
// read of devices:dry-run.
func TestDeviceImportDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := eui64.MustParse("90-B3-D5-1F-30-01-00-1A")
	if _, err := e.svc.CreateUser(context.Background(), e.admin, is, e.partyA, role.ImportSupplier, "IS of Party A"); err != nil {
		t.Fatal(err)
	}
	ck, csrf := e.signIn("admin")
	good := "device_eui64,supplier_user_id,smets\n00-DB-12-34-56-78-90-A0," + is.String() + ",2\n"
	w := e.do("POST", "/console/devices", url.Values{"csrf": {csrf}, "devices": {good}, "dry_run": {"true"}}, ck, nil, nil)
	if want := "dry run: would import 1 device(s): 1 new, 0 changed; nothing was written"; w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
		t.Fatalf("dry run: %d, want 200 saying %q\n%s", w.Code, want, between(w.Body.String(), "<main", "</main>"))
	}
	if a := e.lastAudit(ra.AuditQuery{Action: string(ra.ActImportDevice)}); a.Subject != "devices:dry-run" {
		t.Fatalf("dry run audited as %+v, want subject devices:dry-run", a)
	}
	if w := e.do("GET", "/console/devices", nil, ck, nil, nil); !strings.Contains(w.Body.String(), "No devices.") {
		t.Fatal("a dry run registered devices")
	}
	// The import's refusal, named at the file field, nothing written.
	bad := "device_eui64,supplier_user_id,smets\n00-DB-12-34-56-78-90-A0," + e.userA.String() + ",2\n"
	w = e.do("POST", "/console/devices", url.Values{"csrf": {csrf}, "devices": {bad}, "dry_run": {"true"}}, ck, nil, nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "E_RA_DEVICE_FILE") {
		t.Fatalf("dry run of a bad file: %d, want 400 E_RA_DEVICE_FILE", w.Code)
	}
	// The page offers both: check first, then import.
	if body := e.do("GET", "/console/devices", nil, ck, nil, nil).Body.String(); !strings.Contains(body, `id="devices-check"`) || !strings.Contains(body, `id="devices-upload"`) {
		t.Fatal("the device upload form has no dry run button")
	}
	w = e.do("POST", "/console/devices", url.Values{"csrf": {csrf}, "devices": {good}}, ck, nil, nil)
	if want := "imported 1 device(s): 1 new, 0 changed"; w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
		t.Fatalf("import after the dry run: %d, want %q", w.Code, want)
	}
}
