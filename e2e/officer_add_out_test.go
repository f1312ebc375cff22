package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// TestOfficerAddOutUnwritable: an SRO appoints an ARO with --out naming
// a directory smki cannot make (a file in the way). The RA generates the
// appointee's key and hands it over once, so the place to keep it must be
// found usable before the appointment is sent: a usage error (exit 2)
// naming --out, in smki's words, and no officer appointed whose
// credential nobody holds. The appointment then made with a good --out
// and sent again (as after an answer lost to a timeout) is refused
// E_RA_EXISTS with the way to recover the credential (smki officer
// reissue), not "choose another ID", which would leave an officer
// appointed with a key nobody holds.
func TestOfficerAddOutUnwritable(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	const srp1 = "90-B3-D5-1F-30-00-00-5C"
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")
	sro := filepath.Join(work, "sro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1, "--out", sro)
	ra = ra.as(sro)

	file := filepath.Join(work, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{filepath.Join(file, "aro"), file} {
		r := ra.run("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", srp1, "--out", out)
		if r.code != 2 || !strings.Contains(r.stderr, "--out") {
			t.Errorf("officer add --out %s: exit %d, want 2 naming --out\n%s%s", out, r.code, r.stdout, r.stderr)
		}
		if m := librarytext.Find(r.stderr); m != "" {
			t.Errorf("officer add --out %s: library text %q in %q", out, m, r.stderr)
		}
		if list := ra.must("officer", "list", "--party", srp1).stdout; strings.Contains(list, "srp1-aro") {
			t.Fatalf("officer add --out %s failed, but the RA appointed srp1-aro, whose credential nobody holds:\n%s", out, list)
		}
	}

	aro := filepath.Join(work, "aro")
	ra.must("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", srp1, "--out", aro)
	r := ra.run("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", srp1, "--out", filepath.Join(work, "aro-again"))
	if r.code != 3 || !strings.Contains(r.stderr, "E_RA_EXISTS") || !strings.Contains(r.stderr, "smki officer reissue --id srp1-aro") {
		t.Fatalf("officer add sent again: exit %d, want 3 E_RA_EXISTS naming smki officer reissue --id srp1-aro\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "aro-again")); !os.IsNotExist(err) {
		t.Errorf("officer add refused, but --out %s was left behind (%v)", filepath.Join(work, "aro-again"), err)
	}
}
