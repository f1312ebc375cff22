package ra

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// solrScenario is the scenario plus what the SoLR workflow needs: an
// authority-liaison, the bootstrap approver, an ARO of the SRP party, an
// xml-signing certificate for each of the supplier's IS user and the SC
// user, and devices: two of the failed supplier's, one of another.
type solrScenario struct {
	*scenario
	liaison, approver, aroSR Actor
	bootApprover             Actor // the bootstrap approver's RA-made credential, superseded
	otherSupplier, userIS2   eui64.ID
	isSerial, scSerial       string
	devA, devB               eui64.ID
}

func newSoLRScenario(t testing.TB, on ...store.Store) *solrScenario {
	t.Helper()
	s := &solrScenario{scenario: newScenario(t, on...)}
	ctx := context.Background()
	s.liaison = s.officer(s.admin, "liaison", KindAuthorityLiaison, eui64.ID{})
	// The bootstrap approver renews with a key it made: an RA-made key
	// does not approve (four-eyes, custody.go).
	s.bootApprover = s.actorFromDir(filepath.Join(s.dir, "officers", "approver"))
	_, own, err := s.svc.RenewOfficerCredential(ctx, s.bootApprover, "approver", officerCSR(t, ratest.NewKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	s.approver = s.actor(own)
	s.aroSR = s.officer(s.sroSR, "aro-srp", KindARO, s.srp)
	s.otherSupplier = s.party("90-B3-D5-1F-30-00-00-03", "Supplier B")
	s.userIS2 = s.user("90-B3-D5-1F-30-01-00-03", s.otherSupplier, role.ImportSupplier)
	is, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	s.isSerial = is.Cert.Serial
	sc, err := s.svc.Enrol(ctx, s.aroSR, EnrolRequest{UserID: s.userSC, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userSC, role.SoLRContingency, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	s.scSerial = sc.Cert.Serial
	s.devA, s.devB = eui64.MustParse("00-DB-12-34-56-78-90-A0"), eui64.MustParse("00-DB-12-34-56-78-90-A1")
	csv := fmt.Sprintf("%s\n%s,%s,1\n%s,%s,2\n00-DB-12-34-56-78-90-B0,%s,2\n", devicefile.Header, s.devA, s.userIS, s.devB, s.userIS, s.userIS2)
	if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(csv)); err != nil {
		t.Fatal(err)
	}
	return s
}

// declare records an event by a with revokeAt (nil: at approval).
func (s *solrScenario) declare(a Actor, revokeAt, end *time.Time) SoLREvent {
	s.t.Helper()
	res, err := s.svc.DeclareSoLR(context.Background(), a, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC,
		Instruction: "OFGEM-SOLR-TEST-1", RevokeAt: revokeAt, End: end})
	if err != nil {
		s.t.Fatal(err)
	}
	return res.Event
}

// declareFrom records an event by the liaison starting at start, open-ended,
// revoked at approval or at the start if later.
func (s *solrScenario) declareFrom(start time.Time) SoLREvent {
	s.t.Helper()
	res, err := s.svc.DeclareSoLR(context.Background(), s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC,
		Instruction: "OFGEM-SOLR-TEST-1", Start: start})
	if err != nil {
		s.t.Fatal(err)
	}
	return res.Event
}

// openBundle exports the bundle as the RA operator and opens it as a
// verifier would, at the scenario's clock.
func (s *solrScenario) openBundle() *bundle.Bundle {
	s.t.Helper()
	data, err := s.svc.ExportBundle(context.Background(), s.admin)
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := bundle.Open(data, s.roots(), s.clock.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// certStatus returns the stored status of serial.
func (e *env) certStatus(serial string) store.Certificate {
	e.t.Helper()
	var c store.Certificate
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = tx.GetCertificate(serial)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) revocationSeq() uint64 {
	e.t.Helper()
	var n uint64
	e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.RevocationSeq()
		return err
	})
	return n
}

// records returns the number of records of kind.
func (e *env) records(kind string) int {
	e.t.Helper()
	var n int
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		rs, err := tx.ListRecords(kind, "", 0)
		n = len(rs)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// lastAudit returns the last audit entry whose action is act, of those
// committed before the call (sealed first: AuditEntries returns only
// chained entries, and PostgreSQL chains within a delay of the commit).
func (e *env) lastAudit(act Action) store.AuditEntry {
	e.t.Helper()
	if err := e.st.SealAudit(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	for _, x := range reverse(ratest.AuditTail(e.t, e.st, 1<<20)) {
		if x.Action == string(act) {
			return x
		}
	}
	e.t.Fatalf("no audit entry for %s", act)
	return store.AuditEntry{}
}

func reverse(es []store.AuditEntry) []store.AuditEntry {
	out := make([]store.AuditEntry, len(es))
	for i, x := range es {
		out[len(es)-1-i] = x
	}
	return out
}

// wantRefusal checks err is code and the last audit entry of act records it.
func (e *env) wantRefusal(err, code error, act Action) {
	e.t.Helper()
	if err == nil || CodeOf(err) != code.Error() {
		e.t.Fatalf("got %v, want %v", err, code)
	}
	if got := e.lastAudit(act); !strings.Contains(got.Result, code.Error()) {
		e.t.Fatalf("last %s audit entry %q does not record %s", act, got.Result, code)
	}
}

// wantHidden checks err is a party officer's "not found" for another
// party's record (finding 7) and that the last audit entry of act records
// what really happened: E_RA_FORBIDDEN.
func (e *env) wantHidden(err error, act Action) {
	e.t.Helper()
	if CodeOf(err) != ErrNotFound.Error() || !strings.Contains(err.Error(), "among your party's") {
		e.t.Fatalf("got %v, want %v for another party's record", err, ErrNotFound)
	}
	if got := e.lastAudit(act); got.Result != "refused: "+ErrForbidden.Error() {
		e.t.Fatalf("last %s audit entry %q does not record %s", act, got.Result, ErrForbidden)
	}
}

// signer returns the credential key of officer id.
func (e *env) signerOf(id string) crypto.Signer {
	e.t.Helper()
	k, err := parseKeyPEM(e.cred[id].KeyPEM)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func adtJSON(sc, sup eui64.ID, ths ...string) []byte {
	return []byte(fmt.Sprintf(`{"format":"smki-adt/1","sc_user":"%s","supplier_user":"%s","thresholds":[%s]}`,
		sc, sup, strings.Join(ths, ",")))
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(crypto.Signer), nil
}

// crlLists reports whether the DER CRL lists serial (hex).
func crlLists(t testing.TB, der []byte, serial string) bool {
	t.Helper()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range crl.RevokedCertificateEntries {
		if fmt.Sprintf("%x", e.SerialNumber) == serial {
			return true
		}
	}
	return false
}

func parseDER(der []byte) (*x509.Certificate, error) { return dccx509.ParseCertificate(der) }
