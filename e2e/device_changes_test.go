package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/conformance"
)

// TestDeviceChangeOfSupplierAndRemoval (issue 16) on the real binary: a
// change of supplier imported with a future effective_from holds in the
// exported bundle, so smki verify --at accepts the old supplier's SR 1.6 to
// the device before it and refuses it (E4) after, and the new supplier's
// the other way round; a removals file then takes the device out of the
// registry, and a request to it is refused as an unknown device (E4).
func TestDeviceChangeOfSupplierAndRemoval(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	const (
		party   = "90-B3-D5-1F-30-00-00-0A"
		oldUser = "90-B3-D5-1F-30-01-00-00"
		newUser = "90-B3-D5-1F-30-01-00-01"
		device  = "00-DB-12-34-56-78-90-A0" // the template's target
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", oldUser, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	ra.must("user", "create", "--id", newUser, "--party", party, "--role", "IS", "--name", "supplier-a-is-2")
	sro, aro, ver := filepath.Join(work, "sro"), filepath.Join(work, "aro"), filepath.Join(work, "verifier")
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", party, "--out", sro)
	ra.as(sro).must("officer", "add", "--id", "supa-aro", "--name", "Al Bee", "--kind", "aro", "--party", party, "--out", aro)
	ra.must("officer", "add", "--id", "verifier-1", "--name", "device verifier", "--kind", "verifier", "--out", ver)

	template, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	counter := 0
	signer := func(user string) func() []byte {
		key, csr, cert := filepath.Join(work, user+".key"), filepath.Join(work, user+".csr"), filepath.Join(work, user+".pem")
		mustRun(t, nil, "keygen", "--out", key)
		mustRun(t, nil, "csr", "--key", key, "--user-id", user, "--profile", "xml-signing", "--out", csr)
		ra.as(aro).must("enroll", "--user-id", user, "--profile", "xml-signing", "--csr", csr, "--out", cert)
		// The template's originator is oldUser: each signer's RequestID names itself.
		own := []byte(strings.ReplaceAll(string(template), oldUser+":"+device, user+":"+device))
		return func() []byte {
			counter++
			return []byte(mustRun(t, own, "sign", "--key", key, "--cert", cert, "--counter", fmt.Sprint(counter), "-").stdout)
		}
	}
	signOld, signNew := signer(oldUser), signer(newUser)

	write := func(name, body string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exports := 0
	export := func() string {
		exports++
		dir := filepath.Join(work, fmt.Sprintf("trust-%d", exports))
		ra.as(ver).must("trust", "export", "--out", dir)
		return dir
	}
	// verify runs smki verify at at (zero: now) and checks the decision:
	// want "accept", or the reject code and a part of its reason.
	verify := func(what, trust string, req []byte, at time.Time, want, reason string) {
		t.Helper()
		args := []string{"verify", "--trust", trust}
		if !at.IsZero() {
			args = append(args, "--at", at.Format(time.RFC3339))
		}
		r := run(t, req, append(args, "-")...)
		if want == "accept" {
			if r.code != 0 || !strings.Contains(r.stdout, `"decision":"accept"`) {
				t.Fatalf("%s: exit %d %s %s, want accept", what, r.code, r.stdout, r.stderr)
			}
			return
		}
		if r.code != 3 || !strings.Contains(r.stdout, `"code":"`+want+`"`) || !strings.Contains(r.stdout, reason) {
			t.Fatalf("%s: exit %d %s %s, want reject %s (%q)", what, r.code, r.stdout, r.stderr, want, reason)
		}
	}

	ra.must("devices", "import", write("devices.csv", "device_eui64,supplier_user_id,smets\n"+device+","+oldUser+",2\n"))
	trust := export()
	verify("old supplier before any change", trust, signOld(), time.Time{}, "accept", "")
	verify("new supplier before any change", trust, signNew(), time.Time{}, "E4", "not to "+newUser)

	// The change of supplier takes effect in an hour.
	from := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if r := ra.must("devices", "import", write("change.csv",
		"device_eui64,supplier_user_id,smets,export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from\n"+
			device+","+newUser+",2,,,,"+from.Format(time.RFC3339)+"\n")); !strings.Contains(r.stdout, "1 changed") {
		t.Fatalf("change of supplier import: %q, want 1 changed", r.stdout)
	}
	trust = export()
	before, after := from.Add(-time.Minute), from.Add(time.Minute)
	verify("old supplier now", trust, signOld(), time.Time{}, "accept", "")
	verify("old supplier before the change", trust, signOld(), before, "accept", "")
	verify("new supplier before the change", trust, signNew(), before, "E4", "not to "+newUser)
	verify("old supplier after the change", trust, signOld(), after, "E4", "not to "+oldUser)
	verify("new supplier after the change", trust, signNew(), after, "accept", "")

	// A removals file (effective_to empty: at once) takes the device out.
	if r := ra.must("devices", "import", write("removals.csv", "device_eui64,effective_to\n"+device+",\n")); !strings.Contains(r.stdout, "1 removed") {
		t.Fatalf("removals import: %q, want 1 removed", r.stdout)
	}
	trust = export()
	verify("old supplier to a removed device", trust, signOld(), time.Time{}, "E4", "not in the device registry")
	verify("new supplier to a removed device after the change", trust, signNew(), after, "E4", "not in the device registry")
}
