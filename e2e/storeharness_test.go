package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/postgres"
)

// engine is a store engine under test: how to name it to smki, and how
// to open it in the test process.
type engine struct {
	name string
	spec string // --store value
	// args are extra serve flags for this engine.
	args []string
}

func boltEngine(data string) engine {
	return engine{name: "bbolt", spec: "bbolt:" + filepath.Join(data, "smki.db")}
}

// pgEngine gives the test a schema of its own (or skips, see pgtest).
func pgEngine(t *testing.T) engine {
	return engine{name: "postgres", spec: pgtest.SchemaURL(t)}
}

func (e engine) open(t *testing.T) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if strings.HasPrefix(e.spec, "bbolt:") {
		st, err = bolt.Open(strings.TrimPrefix(e.spec, "bbolt:"), bolt.WithLockTimeout(5*time.Second))
	} else {
		st, err = postgres.Open(context.Background(), e.spec)
	}
	if err != nil {
		t.Fatalf("opening the %s store: %v", e.name, err)
	}
	return st
}

// serve starts `smki serve --dev` on data and the engine.
func (e engine) serve(t *testing.T, data string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--dev", "--store", e.spec}, e.args...)
	return startServer(t, exec.Command(smkiBin, append(args, extra...)...), data)
}

// kill SIGKILLs the server's process group and waits for it.
func (s *server) kill() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.cmd.Wait()
}

// stop SIGTERMs the server and waits for it.
func (s *server) stop() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	s.cmd.Wait()
}

// enrolFixture is a party with users and an SRO credential that may enrol
// them, created through the RA API by the bootstrap admin.
type enrolFixture struct {
	party eui64.ID
	users []eui64.ID
	sro   string // credential directory
}

func newEnrolFixture(t *testing.T, url, data string, users int, tag byte) enrolFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := raclient.NewClient(url, filepath.Join(data, "officers", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	f := enrolFixture{party: eui64.MustParse(fmt.Sprintf("90-B3-D5-1F-%02X-00-00-01", tag))}
	if _, err := admin.CreateParty(ctx, f.party, "crash-srp"); err != nil {
		t.Fatal(err)
	}
	for i := range users {
		var id eui64.ID
		binary.BigEndian.PutUint64(id[:], 0x90B3D51F00010000|uint64(tag)<<24|uint64(i))
		if _, err := admin.CreateUser(ctx, id, f.party, role.SoLRContingency, fmt.Sprintf("sc-%d", i)); err != nil {
			t.Fatal(err)
		}
		f.users = append(f.users, id)
	}
	_, cred, err := admin.AppointOfficer(ctx, ra.OfficerRequest{ID: fmt.Sprintf("sro-%02x", tag), Name: "Sam Roe", Kind: ra.KindSRO, PartyID: f.party})
	if err != nil {
		t.Fatal(err)
	}
	f.sro = filepath.Join(t.TempDir(), "sro")
	if err := ownpki.WriteCredential(f.sro, cred); err != nil {
		t.Fatal(err)
	}
	return f
}

// issued is what clients received: serial -> DER.
type issued struct {
	mu   sync.Mutex
	ders map[string][]byte
	dups []string
}

func (is *issued) add(serial string, der []byte) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.ders == nil {
		is.ders = map[string][]byte{}
	}
	if _, ok := is.ders[serial]; ok {
		is.dups = append(is.dups, serial)
	}
	is.ders[serial] = der
}

func (is *issued) len() int { is.mu.Lock(); defer is.mu.Unlock(); return len(is.ders) }

// enrolLoop enrols xml-signing certificates for user with fresh keys
// until ctx ends or n succeed (n 0: no bound), recording what it
// receives. Transport errors (the server was killed) are expected and
// only counted; an API refusal is returned.
func enrolLoop(ctx context.Context, url, sro string, user eui64.ID, n int, out *issued) (ok, failed int, err error) {
	cl, err := raclient.NewClient(url, sro)
	if err != nil {
		return 0, 0, err
	}
	for ctx.Err() == nil && (n == 0 || ok < n) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return ok, failed, err
		}
		csr, err := ra.NewCSR(key, user, role.SoLRContingency, ca.XMLSigning, "")
		if err != nil {
			return ok, failed, err
		}
		got, err := cl.Enrol(ctx, ra.EnrolRequest{UserID: user, Profile: ca.XMLSigning, CSR: csr, Mode: ra.ModeEnrol})
		var api *raclient.APIError
		if errors.As(err, &api) && ctx.Err() == nil {
			return ok, failed, err
		}
		if err != nil {
			failed++
			continue
		}
		b, _ := pem.Decode(got.CertPEM)
		if b == nil {
			return ok, failed, fmt.Errorf("enrol %s: no PEM certificate", got.Cert.Serial)
		}
		out.add(got.Cert.Serial, b.Bytes)
		ok++
	}
	return ok, failed, nil
}

// checkStore is the end-of-test audit of a store after crashes or
// concurrent instances: every certificate a client received is stored
// with the same DER; every stored certificate's DER carries its own
// serial, once; every certificate has a completed intent; no intent is
// open (if wantNoOpen); the audit chain verifies.
func checkStore(t *testing.T, st store.Store, got *issued, wantNoOpen bool) (certs, failedIntents int) {
	t.Helper()
	ctx := context.Background()
	err := st.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListCertificates(store.CertFilter{Issuer: ca.IssuerIssuing})
		if err != nil {
			return err
		}
		bySerial := map[string]store.Certificate{}
		derSerials := map[string]string{}
		for _, c := range all {
			bySerial[c.Serial] = c
			// dccx509: crypto/x509 refuses the BIT STRING
			// x500UniqueIdentifier of SMKI subjects.
			x, err := dccx509.ParseCertificate(c.DER)
			if err != nil {
				return fmt.Errorf("stored certificate %s does not parse: %v", c.Serial, err)
			}
			sn := fmt.Sprintf("%x", x.SerialNumber)
			if strings.TrimLeft(c.Serial, "0") != sn {
				t.Errorf("stored certificate %s carries serial %s", c.Serial, sn)
			}
			if prev, dup := derSerials[sn]; dup {
				t.Errorf("serial %s stored twice (%s, %s)", sn, prev, c.Serial)
			}
			derSerials[sn] = c.Serial
			in, err := tx.GetIntent(c.Serial)
			if err != nil || in.State != store.IntentCompleted {
				t.Errorf("certificate %s: intent %q, %v; want completed", c.Serial, in.State, err)
			}
		}
		got.mu.Lock()
		defer got.mu.Unlock()
		if len(got.dups) > 0 {
			t.Errorf("clients received serials twice: %v", got.dups)
		}
		for serial, der := range got.ders {
			c, ok := bySerial[serial]
			if !ok {
				t.Errorf("certificate %s was returned to a client but is not in the store", serial)
				continue
			}
			if string(c.DER) != string(der) {
				t.Errorf("certificate %s: stored DER differs from the one the client got", serial)
			}
		}
		open, err := tx.OpenIntents()
		if err != nil {
			return err
		}
		if wantNoOpen && len(open) > 0 {
			t.Errorf("%d intents still open after the final restart, first %s", len(open), open[0].Serial)
		}
		ex, ok := tx.(store.Exporter)
		if !ok {
			return errors.New("store has no Exporter")
		}
		ins, err := ex.Intents("", 0)
		if err != nil {
			return err
		}
		for _, in := range ins {
			if in.State == store.IntentFailed {
				failedIntents++
				if _, ok := bySerial[in.Serial]; ok {
					t.Errorf("intent %s failed but its certificate is recorded", in.Serial)
				}
			}
		}
		certs = len(all)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.VerifyAudit(ctx, st); err != nil {
		t.Errorf("audit chain: %v", err)
	}
	return certs, failedIntents
}
