package ra

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
)

// keyPEMOf encodes k as the key.pem an officer holds.
func keyPEMOf(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestRenewOfficerSelf: near the end of its year an officer renews its own
// credential, with its own key or an RA-generated one; the old credential
// is refused at once, the new one works past the old one's expiry, and each
// renewal is audited with both serials.
func TestRenewOfficerSelf(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	oldCert, err := parseCertPEM(s.cred["aro-a"].CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	renewedAt := ratest.Start.Add(360 * 24 * time.Hour)
	s.clock.Set(renewedAt)

	k := ratest.NewKey(t)
	o, cred, err := s.svc.RenewOfficerCredential(ctx, s.aroSup, "aro-a", officerCSR(t, k))
	if err != nil {
		t.Fatal(err)
	}
	if len(cred.KeyPEM) != 0 {
		t.Error("a renewal with a CSR returned a private key")
	}
	if _, err := tls.X509KeyPair(cred.CertPEM, keyPEMOf(t, k)); err != nil {
		t.Errorf("the new certificate is not for the officer's key: %v", err)
	}
	if o.CertSerial != cred.Serial || o.CertSerial == s.aroSup.serial || o.AppointedBy != "sro-a" || o.Kind != KindARO {
		t.Errorf("officer after renewal %+v (credential %s)", o, cred.Serial)
	}
	newCert, err := parseCertPEM(cred.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if want := renewedAt.Add(ownpki.OfficerValidity); !newCert.NotAfter.Equal(want) {
		t.Errorf("renewed credential expires %s, want %s (a year from renewal)", newCert.NotAfter, want)
	}
	if newCert.Subject.CommonName != "aro-a" || newCert.Subject.Organization[0] != s.supplier.String() ||
		newCert.Subject.OrganizationalUnit[0] != KindARO {
		t.Errorf("renewed subject %v", newCert.Subject)
	}
	tail := s.lastAudit(ActRenewOfficer)
	if tail.Result != "allowed" || tail.Actor != "aro-a" || tail.Subject != "officer:aro-a" ||
		!strings.Contains(tail.Detail, "old_serial="+s.aroSup.serial) || !strings.Contains(tail.Detail, "cert_serial="+cred.Serial) ||
		!strings.Contains(tail.Detail, "key=appointee") || strings.Contains(tail.Detail, "appointed_by") {
		t.Errorf("audit %+v", tail)
	}

	// The old credential is superseded: refused at authentication and, on
	// an already open connection, at its next decision.
	if _, err := s.svc.Authenticate(ctx, oldCert); !errors.Is(err, ErrOfficerInactive) {
		t.Errorf("old credential authenticates: %v", err)
	}
	if _, err := s.svc.Whoami(ctx, s.aroSup); CodeOf(err) != "E_RA_OFFICER_INACTIVE" {
		t.Errorf("old actor: %v", err)
	}
	if _, _, err := s.svc.RenewOfficerCredential(ctx, s.aroSup, "aro-a", officerCSR(t, ratest.NewKey(t))); !errors.Is(err, ErrOfficerInactive) {
		t.Errorf("the old credential renewed again: %v", err)
	}
	// The new one works after the old one's year is over.
	s.clock.Set(oldCert.NotAfter.Add(24 * time.Hour))
	renewed := s.actor(cred)
	if me, err := s.svc.Whoami(ctx, renewed); err != nil || me.ID != "aro-a" {
		t.Fatalf("renewed credential: %+v %v", me, err)
	}

	// Without a CSR the RA makes the key and returns it to the officer.
	_, gen, err := s.svc.RenewOfficerCredential(ctx, renewed, "aro-a", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(gen.CertPEM, gen.KeyPEM); err != nil {
		t.Errorf("RA-generated renewal: %v", err)
	}
	if d := s.lastAudit(ActRenewOfficer).Detail; !strings.Contains(d, "key=ra-generated") || !strings.Contains(d, "old_serial="+cred.Serial) {
		t.Errorf("audit detail %q", d)
	}
	if a := s.actor(gen); a.id != "aro-a" {
		t.Errorf("authenticated as %q", a.id)
	}
}

// TestReissueOfficer: an officer who lost their key gets a new credential
// from whoever may appoint them, always for a key they made (a CSR); the
// policy and the refusals are those of appointment, except that an
// ra-operator re-issues any SRO.
func TestReissueOfficer(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	approver := s.actorFromDir(filepath.Join(s.dir, "officers", "approver"))
	csr := func() string { return officerCSR(t, ratest.NewKey(t)) }
	tests := []struct {
		name      string
		by        Actor
		id, csr   string
		want      error // nil: re-issued
		custodian string
	}{
		{"SRO re-issue needs a CSR", s.sroSup, "aro-a", "", ErrCSRRequired, ""},
		{"ra-operator re-issue needs a CSR", s.admin, "sro-a", "", ErrCSRRequired, ""},
		{"another party's SRO is told there is no such officer", s.sroSR, "aro-a", csr(), ErrNotFound, ""},
		{"ARO may not re-issue its SRO", s.aroSup, "sro-a", csr(), ErrForbidden, ""},
		{"ra-operator may not re-issue an ARO", s.admin, "aro-a", csr(), ErrForbidden, ""},
		{"SRO is told there is no such RA officer", s.sroSup, "approver", csr(), ErrNotFound, ""},
		{"approver may not re-issue", approver, "sro-srp", csr(), ErrForbidden, ""},
		{"unknown officer", s.admin, "nobody", csr(), ErrNotFound, ""},
		{"bad officer ID", s.admin, "../admin", csr(), ErrInvalidID, ""},
		// Each success supersedes the holder's actor used above, so they come last.
		{"SRO re-issues own party's ARO", s.sroSup, "aro-a", csr(), nil, "sro-a"},
		{"ra-operator re-issues a party's SRO (party already has one)", s.admin, "sro-a", csr(), nil, "admin"},
		{"ra-operator re-issues the bootstrap approver", s.admin, "approver", csr(), nil, "admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ratest.AuditLen(s.t, s.st)
			o, cred, err := s.svc.RenewOfficerCredential(ctx, tc.by, tc.id, tc.csr)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if tc.want == ErrInvalidID {
					return
				}
				// A party officer told "not found" for an officer that
				// exists is audited as refused (finding 7).
				audited := tc.want
				if tc.want == ErrNotFound && tc.id != "nobody" {
					audited = ErrForbidden
				}
				if got := s.lastAudit(ActReissueOfficer); ratest.AuditLen(s.t, s.st) != before+1 || got.Result != "refused: "+audited.Error() || got.Actor != tc.by.id {
					t.Fatalf("refusal audit %+v (%d new entries)", got, ratest.AuditLen(s.t, s.st)-before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cred.KeyPEM) != 0 || o.CertSerial != cred.Serial || o.AppointedBy != tc.custodian {
				t.Errorf("re-issued %+v, key %d bytes", o, len(cred.KeyPEM))
			}
			got := s.lastAudit(ActReissueOfficer)
			if got.Result != "allowed" || got.Actor != tc.by.id || !strings.Contains(got.Detail, "cert_serial="+cred.Serial) ||
				!strings.Contains(got.Detail, "key=appointee") {
				t.Errorf("audit %+v", got)
			}
			if a := s.actor(cred); a.id != tc.id {
				t.Errorf("re-issued credential authenticates as %q", a.id)
			}
		})
	}
	// The re-issued officers' lost credentials are superseded.
	for id, a := range map[string]Actor{"aro-a": s.aroSup, "sro-a": s.sroSup, "approver": approver} {
		if _, err := s.svc.Whoami(ctx, a); !errors.Is(err, ErrOfficerInactive) {
			t.Errorf("%s's lost credential: %v", id, err)
		}
	}
	if d := s.lastAudit(ActReissueOfficer).Detail; !strings.Contains(d, `appointed_by="system:bootstrap"->"admin"`) {
		t.Errorf("custodian change not audited: %q", d)
	}
}

// TestRenewRemovedOfficer: a removed officer is renewed neither by itself
// nor by a re-issuer, and the refusal is audited.
func TestRenewRemovedOfficer(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	if _, err := s.svc.RemoveOfficer(ctx, s.sroSup, "aro-a"); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.svc.RenewOfficerCredential(ctx, s.aroSup, "aro-a", officerCSR(t, ratest.NewKey(t)))
	s.wantRefusal(err, ErrOfficerInactive, ActRenewOfficer)
	_, _, err = s.svc.RenewOfficerCredential(ctx, s.sroSup, "aro-a", officerCSR(t, ratest.NewKey(t)))
	s.wantRefusal(err, ErrInactive, ActReissueOfficer)
}

// TestRenewOfficerCSRRequired: an RA that certifies only holder-made keys
// refuses (and audits) a self-renewal without a CSR; a malformed CSR is a
// bad request that decides and writes nothing.
func TestRenewOfficerCSRRequired(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	WithOfficerCSRRequired()(s.svc)
	ctx := context.Background()
	_, _, err := s.svc.RenewOfficerCredential(ctx, s.sroSup, "sro-a", "")
	s.wantRefusal(err, ErrCSRRequired, ActRenewOfficer)
	if _, err := s.svc.Whoami(ctx, s.sroSup); err != nil {
		t.Fatalf("a refused renewal superseded the credential: %v", err)
	}
	before := ratest.AuditLen(s.t, s.st)
	if _, _, err := s.svc.RenewOfficerCredential(ctx, s.sroSup, "sro-a", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"); !errors.Is(err, ErrCSRInvalid) {
		t.Errorf("malformed CSR: %v", err)
	}
	if ratest.AuditLen(s.t, s.st) != before {
		t.Error("a malformed CSR was audited as a decision")
	}
	if _, _, err := s.svc.RenewOfficerCredential(ctx, s.sroSup, "sro-a", officerCSR(t, ratest.NewKey(t))); err != nil {
		t.Fatal(err)
	}
}

// TestReissueMakesCustodian: a re-issuer chooses the key it certifies, so
// for four-eyes it is the officer's appointer: an ra-operator who re-issues
// the approver's credential cannot then approve its own declaration with it.
func TestReissueMakesCustodian(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	k := ratest.NewKey(t)
	_, cred, err := s.svc.RenewOfficerCredential(ctx, s.admin, "approver", officerCSR(t, k))
	if err != nil {
		t.Fatal(err)
	}
	taken := s.actor(cred)
	ev := s.declare(s.admin, nil, nil)
	_, err = s.svc.ApproveSoLR(ctx, taken, ev.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
	// Renewing one's own credential with a key one made does not leave
	// the line one was appointed in: admin -> op-2 -> approver-3 is
	// admin's line (issue 12, finding 1).
	other := s.officer(s.admin, "op-2", KindRAOperator, eui64.ID{})
	appr := s.officer(other, "approver-3", KindRAApprover, eui64.ID{})
	_, mine, err := s.svc.RenewOfficerCredential(ctx, appr, "approver-3", officerCSR(t, ratest.NewKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.ApproveSoLR(ctx, s.actor(mine), ev.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
}

// TestRenewedBootstrapCredentialSurvivesRestart: a bootstrap officer that
// renewed in place (smki officer renew) keeps its new credential when the
// RA starts again: Bootstrap sees its current serial and re-issues nothing.
func TestRenewedBootstrapCredentialSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	k := ratest.NewKey(t)
	_, cred, err := e.svc.RenewOfficerCredential(ctx, e.admin, "admin", officerCSR(t, k))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "officers", "admin")
	if err := os.Remove(filepath.Join(dir, "cert.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEMOf(t, k), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ownpki.WriteCredential(dir, cred); err != nil {
		t.Fatal(err)
	}
	before := ratest.AuditLen(e.t, e.st)
	if err := e.svc.Bootstrap(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	if a := e.actorFromDir(dir); a.serial != cred.Serial || ratest.AuditLen(e.t, e.st) != before {
		t.Errorf("after restart the admin directory holds %s (renewed %s); %d audit entries", a.serial, cred.Serial, ratest.AuditLen(e.t, e.st)-before)
	}
}
