package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// raSession runs smki client verbs against one server as one officer.
// devRA starts `smki serve --dev` on a fresh data directory and returns
// the server, its data directory and a session as the bootstrap admin.
func devRA(t *testing.T) (*server, string, raSession) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	return srv, data, raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
}

type raSession struct {
	t       *testing.T
	url     string
	officer string
}

func (s raSession) as(dir string) raSession { s.officer = dir; return s }

func (s raSession) run(args ...string) result {
	s.t.Helper()
	return run(s.t, nil, append(args, "--ra", s.url, "--officer", s.officer)...)
}

func (s raSession) must(args ...string) result {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 0 {
		s.t.Fatalf("smki %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// refused runs a verb that must fail with code.
func (s raSession) refused(code string, args ...string) {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 3 || !strings.Contains(r.stderr, code) {
		s.t.Fatalf("smki %v: want refusal %s (exit 3), got exit %d\n%s%s", args, code, r.code, r.stdout, r.stderr)
	}
	// No raw library text reaches the user (issue 14).
	if m := librarytext.Find(r.stderr); m != "" {
		s.t.Errorf("smki %v: refusal %s carries library text %q:\n%s", args, code, m, r.stderr)
	}
}

// TestRAEnrolmentAndRefusals is the RA acceptance path on the real binary
// and a real server: parties, users, an SRO who appoints an ARO, an
// enrolment from an openssl-made CSR that openssl then verifies, and the
// coded refusals, each of which leaves an audit record.
func TestRAEnrolmentAndRefusals(t *testing.T) {
	t.Parallel()
	requirement(t, "R2", "R4", "L1", "L2", "L3", "L6")
	openssl := need.Tool(t, "openssl", "openssl")
	srv, data, ra := devRA(t)
	work := t.TempDir()

	const (
		supplierA = "90-B3-D5-1F-30-00-00-0A"
		supA_IS   = "90-B3-D5-1F-30-01-00-00"
		srp1      = "90-B3-D5-1F-30-00-00-5C"
		srpSC     = "90-B3-D5-1F-30-05-00-00"
	)
	ra.must("party", "create", "--id", supplierA, "--name", "supplier-a")
	ra.must("user", "create", "--id", supA_IS, "--party", supplierA, "--role", "IS", "--name", "supplier-a-is")
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp1, "--role", "SC", "--name", "srp-sc")

	sro := filepath.Join(work, "srp1-sro")
	aro := filepath.Join(work, "srp1-aro")
	supSRO := filepath.Join(work, "supa-sro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1, "--out", sro)
	ra.must("officer", "add", "--id", "supa-sro", "--name", "Ann Bee", "--kind", "sro", "--party", supplierA, "--out", supSRO)
	ra.as(sro).must("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", srp1, "--out", aro)

	// The ARO enrols the SC user with a CSR made by openssl (a real client).
	key := filepath.Join(work, "sc.key")
	csr := filepath.Join(work, "sc.csr")
	if r := runCmd(t, nil, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCmd(t, nil, openssl, "req", "-new", "-key", key, "-subj", "/CN=srp-sc-xml/OU=87/x500UniqueIdentifier=90B3D51F30050000", "-out", csr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	cert := filepath.Join(work, "sc.pem")
	ra.as(aro).must("enroll", "--user-id", srpSC, "--profile", "xml-signing", "--csr", csr, "--out", cert)

	_, rootPEM := srv.get(t, "/roots")
	_, issPEM := srv.get(t, "/ca/issuing.pem")
	os.WriteFile(filepath.Join(work, "root.pem"), rootPEM, 0o644)
	os.WriteFile(filepath.Join(work, "issuing.pem"), issPEM, 0o644)
	if r := runCmd(t, nil, openssl, "verify", "-CAfile", filepath.Join(work, "root.pem"),
		"-untrusted", filepath.Join(work, "issuing.pem"), cert); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("openssl verify: %s %s", r.stdout, r.stderr)
	}

	// Refusals, each coded.
	dsKey := filepath.Join(work, "ds.key")
	dsCSR := filepath.Join(work, "ds.csr")
	mustRun(t, nil, "keygen", "--out", dsKey)
	mustRun(t, nil, "csr", "--key", dsKey, "--user-id", srpSC, "--profile", "xml-signing", "--out", dsCSR)
	// SC asks for digital-signing (R2).
	ra.as(aro).refused("E_RA_NOT_ELIGIBLE", "enroll", "--user-id", srpSC, "--profile", "digital-signing", "--csr", dsCSR)
	// An ARO of srp-1 acts for supplier-a's user: to a party officer
	// another party's user is not there (issue 12 finding 7).
	isCSR := filepath.Join(work, "is.csr")
	mustRun(t, nil, "csr", "--key", dsKey, "--user-id", supA_IS, "--profile", "xml-signing", "--out", isCSR)
	ra.as(aro).refused("E_RA_NOT_FOUND", "enroll", "--user-id", supA_IS, "--profile", "xml-signing", "--csr", isCSR)
	// A removed ARO is refused at once.
	ra.as(sro).must("officer", "remove", "--id", "srp1-aro")
	ra.as(aro).refused("E_RA_OFFICER_INACTIVE", "certs", "--party", srp1)

	// Stop the server and read its audit log: the chain verifies and
	// holds the refusals.
	syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGTERM)
	srv.cmd.Wait()
	mustRun(t, nil, "audit", "verify", "--data", data)
	st, err := bolt.Open(filepath.Join(data, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []store.AuditEntry
	st.View(context.Background(), func(tx store.Tx) error {
		entries, err = tx.AuditEntries(1, 0)
		return err
	})
	st.Close()
	// The enrolment for supplier-a's user was answered E_RA_NOT_FOUND and
	// is audited as what it was, E_RA_FORBIDDEN (finding 7).
	for _, code := range []string{"E_RA_NOT_ELIGIBLE", "E_RA_FORBIDDEN", "E_RA_OFFICER_INACTIVE"} {
		found := false
		for _, e := range entries {
			if strings.Contains(e.Result, code) {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit record of the %s refusal among %d entries", code, len(entries))
		}
	}

	// Rewrite one stored audit record behind smki's back: audit verify
	// must fail and name that entry.
	victim := entries[len(entries)/2]
	tamperAudit(t, filepath.Join(data, "smki.db"), victim.Seq, func(e map[string]any) { e["Actor"] = "someone-else" })
	r := run(t, nil, "audit", "verify", "--data", data)
	if r.code == 0 || !strings.Contains(r.stderr, fmt.Sprintf("entry %d", victim.Seq)) {
		t.Fatalf("audit verify after tampering with entry %d: exit %d\n%s%s", victim.Seq, r.code, r.stdout, r.stderr)
	}
}

// tamperAudit edits the stored JSON of audit entry seq directly in the
// bbolt file, as an attacker with file access would.
func tamperAudit(t *testing.T, path string, seq uint64, edit func(map[string]any)) {
	t.Helper()
	updateBoltAudit(t, path, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		var e map[string]any
		if err := json.Unmarshal(b.Get(auditKey(seq)), &e); err != nil {
			return err
		}
		edit(e)
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(auditKey(seq), v)
	})
}

// updateBoltAudit runs fn in one write transaction on the bbolt store
// file at path (its server stopped), for the tests that tamper with the
// audit log as someone with the file would: the "audit" bucket holds the
// entries as JSON under auditKey, the "state" bucket the chain's head.
func updateBoltAudit(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// auditKey is the bbolt key of audit entry seq: its number, big-endian.
func auditKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// srpSCAsSRO sets up, through ra (the bootstrap operator's session), an
// SRP party (srp-1) with an SC user and its SRO (credential in work/sro),
// and returns the SRO's session and the SC user's ID.
func srpSCAsSRO(t *testing.T, ra raSession, work string) (raSession, string) {
	t.Helper()
	const (
		srp1  = "90-B3-D5-1F-30-00-00-5C"
		srpSC = "90-B3-D5-1F-30-05-00-00"
	)
	ra.must("party", "create", "--id", srp1, "--name", "srp-1")
	ra.must("user", "create", "--id", srpSC, "--party", srp1, "--role", "SC", "--name", "srp-sc")
	sro := filepath.Join(work, "sro")
	ra.must("officer", "add", "--id", "srp1-sro", "--name", "Sam Roe", "--kind", "sro", "--party", srp1, "--out", sro)
	return ra.as(sro), srpSC
}

// scCSR makes a key work/name.key with smki keygen and its XML Signing
// CSR for the SC user srpSC with smki csr, and returns the CSR's path.
func scCSR(t *testing.T, work, name, srpSC string) string {
	t.Helper()
	key, out := filepath.Join(work, name+".key"), filepath.Join(work, name+".csr")
	mustRun(t, nil, "keygen", "--out", key)
	mustRun(t, nil, "csr", "--key", key, "--user-id", srpSC, "--profile", "xml-signing", "--out", out)
	return out
}
