package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/ra"
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
