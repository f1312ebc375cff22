package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// TestEnrolResentAfterLostAnswer: an enrolment, renewal or rekey whose
// answer was lost (a timeout after the RA issued) is sent again as it
// was. The RA refuses the repeat (E_RA_KEY_REUSE, E_RA_REPLACES_MISMATCH:
// docs/api.md), so smki enroll must hand over the certificate the RA
// already issued for that key, user and profile instead of leaving the
// user with a key whose certificate they cannot get. Where the key's
// certificates do not say which one was meant, the refusal stands and
// says how to fetch them.
func TestEnrolResentAfterLostAnswer(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	ra, srpSC := srpSCAsSRO(t, ra, work)
	csr := func(name string) string { return scCSR(t, work, name, srpSC) }
	type record struct {
		Serial string `json:"serial"`
		PEM    string `json:"pem"`
	}
	enrol := func(out, c string, extra ...string) (result, record) {
		args := append([]string{"enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", c,
			"--out", filepath.Join(work, out), "--json"}, extra...)
		r := ra.run(args...)
		var rec record
		if r.code == 0 {
			if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || rec.Serial == "" {
				t.Fatalf("enroll %v: stdout %q (%v)", extra, r.stdout, err)
			}
			if got := string(mustReadFile(t, filepath.Join(work, out))); got != rec.PEM {
				t.Fatalf("enroll %v: --out holds %q, want the record's pem", extra, got)
			}
		}
		return r, rec
	}
	// resent: the first attempt's answer is lost; the same command again
	// must end with the certificate the first one issued.
	resent := func(what, c string, first record, extra ...string) {
		t.Helper()
		r, again := enrol(what+"-again.pem", c, extra...)
		if r.code != 0 || again.Serial != first.Serial || again.PEM != first.PEM {
			t.Fatalf("%s sent again: exit %d, serial %q, want exit 0 with the certificate already issued, serial %s\nstdout: %s\nstderr: %s",
				what, r.code, again.Serial, first.Serial, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, first.Serial) || !strings.Contains(r.stderr, "already issued") {
			t.Errorf("%s sent again: stderr %q, want it to say serial %s was already issued", what, r.stderr, first.Serial)
		}
	}

	sc := csr("sc")
	r, x := enrol("x.pem", sc)
	if r.code != 0 {
		t.Fatalf("enrol: exit %d\n%s", r.code, r.stderr)
	}
	resent("enrol", sc, x)

	r, y := enrol("y.pem", sc, "--mode", "renew", "--replaces", x.Serial)
	if r.code != 0 {
		t.Fatalf("renew: exit %d\n%s", r.code, r.stderr)
	}
	resent("renew", sc, y, "--mode", "renew", "--replaces", x.Serial)

	k2 := csr("k2")
	r, z := enrol("z.pem", k2, "--mode", "rekey", "--replaces", y.Serial)
	if r.code != 0 {
		t.Fatalf("rekey: exit %d\n%s", r.code, r.stderr)
	}
	resent("rekey", k2, z, "--mode", "rekey", "--replaces", y.Serial)

	// Not a resend: another key to replace y, already replaced by z. The
	// refusal stands, names z, and nothing is written.
	r, _ = enrol("k3.pem", csr("k3"), "--mode", "rekey", "--replaces", y.Serial)
	if r.code != 3 || !strings.Contains(r.stderr, "E_RA_REPLACES_MISMATCH") || !strings.Contains(r.stderr, z.Serial) || r.stdout != "" {
		t.Fatalf("rekey of a replaced certificate with a new key: exit %d, want 3 E_RA_REPLACES_MISMATCH naming %s\nstdout: %s\nstderr: %s",
			r.code, z.Serial, r.stdout, r.stderr)
	}
	// Not a resend either: sc's key holds x and y, so an enrolment of it
	// cannot say which was meant. The refusal stands and says how to get
	// them (smki cert get), not only "use renew".
	r, _ = enrol("sc-third.pem", sc)
	if r.code != 3 || !strings.Contains(r.stderr, "E_RA_KEY_REUSE") || !strings.Contains(r.stderr, "smki cert get --serial") ||
		!strings.Contains(r.stderr, x.Serial) || !strings.Contains(r.stderr, y.Serial) || r.stdout != "" {
		t.Fatalf("enrol of a key certified twice: exit %d, want 3 E_RA_KEY_REUSE naming %s and %s with smki cert get\nstdout: %s\nstderr: %s",
			r.code, x.Serial, y.Serial, r.stdout, r.stderr)
	}
}

// TestEnrolOutUnwritable: an --out smki enroll cannot write is a usage
// error found before the CSR is sent, so no certificate is issued that
// the user is never given; the message is smki's own sentence.
func TestEnrolOutUnwritable(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	ra, srpSC := srpSCAsSRO(t, ra, work)
	csr := scCSR(t, work, "sc", srpSC)

	for _, out := range []string{filepath.Join(work, "no-such-dir", "sc.pem"), work} {
		r := ra.run("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", csr, "--out", out)
		if r.code != 2 || !strings.Contains(r.stderr, "--out") {
			t.Errorf("enroll --out %s: exit %d, want 2 naming --out\n%s%s", out, r.code, r.stdout, r.stderr)
		}
		if m := librarytext.Find(r.stderr); m != "" {
			t.Errorf("enroll --out %s: library text %q in %q", out, m, r.stderr)
		}
		if certs := ra.must("certs", "--user", srpSC, "--json").stdout; strings.Contains(certs, `"serial"`) {
			t.Fatalf("enroll --out %s failed but the RA issued a certificate the user was not given:\n%s", out, certs)
		}
	}
}
