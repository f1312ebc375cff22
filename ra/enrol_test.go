package ra

import (
	"context"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

func TestEnrolChecks(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	kA := ratest.NewKey(t)
	good, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, kA, s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	uid := s.userIS
	tests := []struct {
		name string
		who  Actor
		req  func() EnrolRequest
		want error
	}{
		{"other party's ARO", s.sroSR, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, ratest.NewKey(t), uid, "IS", ca.XMLSigning), Mode: ModeEnrol}
		}, ErrNotFound}, // not yours is not there (issue 12 finding 7)
		{"RA operator may not submit", s.admin, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, ratest.NewKey(t), uid, "IS", ca.XMLSigning), Mode: ModeEnrol}
		}, ErrForbidden},
		{"CSR names another user", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, ratest.NewKey(t), s.userSC, "IS", ca.XMLSigning), Mode: ModeEnrol}
		}, ErrCSRMismatch},
		{"CSR OU of another profile", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.RawCSR(t, ratest.NewKey(t), uid, "02"), Mode: ModeEnrol}
		}, ErrCSRMismatch},
		{"CSR without User ID", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.RawCSRAttrs(t, ratest.NewKey(t), []ratest.Attr{{OID: ratest.OIDOU, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("87")}}}), Mode: ModeEnrol}
		}, ErrCSRMismatch},
		{"CSR with extra attribute", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.RawCSRAttrs(t, ratest.NewKey(t), []ratest.Attr{
				{OID: ratest.OIDOU, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("87")}},
				{OID: ratest.OIDUID, Value: asn1.RawValue{Tag: asn1.TagBitString, Bytes: append([]byte{0}, uid[:]...)}},
				{OID: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("Evil")}}}), Mode: ModeEnrol}
		}, ErrCSRMismatch},
		{"garbage CSR", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), Mode: ModeEnrol}
		}, ErrCSRInvalid},
		{"key already certified (enrol)", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, kA, uid, "IS", ca.XMLSigning), Mode: ModeEnrol}
		}, ErrKeyReuse},
		{"key of another user", s.sroSR, func() EnrolRequest {
			return EnrolRequest{UserID: s.userSC, Profile: ca.XMLSigning, CSR: ratest.CSR(t, kA, s.userSC, "SC", ca.XMLSigning), Mode: ModeEnrol}
		}, ErrKeyReuse},
		{"renew with another key", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, ratest.NewKey(t), uid, "IS", ca.XMLSigning), Mode: ModeRenew, Replaces: good.Cert.Serial}
		}, ErrReplaced},
		{"rekey with the same key", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, kA, uid, "IS", ca.XMLSigning), Mode: ModeRekey, Replaces: good.Cert.Serial}
		}, ErrKeyReuse},
		{"renew across profiles", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.DigitalSigning, CSR: ratest.RawCSR(t, kA, uid, "02"), Mode: ModeRenew, Replaces: good.Cert.Serial}
		}, ErrReplaced},
		{"renew of unknown serial", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: ratest.CSR(t, kA, uid, "IS", ca.XMLSigning), Mode: ModeRenew, Replaces: "abcdef"}
		}, ErrReplaced},
		{"SC digital-signing", s.sroSR, func() EnrolRequest {
			return EnrolRequest{UserID: s.userSC, Profile: ca.DigitalSigning, CSR: ratest.RawCSR(t, ratest.NewKey(t), s.userSC, "7F"), Mode: ModeEnrol}
		}, ErrNotEligible},
		{"unknown user", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: s.supplier, Profile: ca.XMLSigning, CSR: ratest.CSR(t, ratest.NewKey(t), s.supplier, "IS", ca.XMLSigning), Mode: ModeEnrol}
		}, ErrNotFound},
		{"bad mode", s.aroSup, func() EnrolRequest {
			return EnrolRequest{UserID: uid, Profile: ca.XMLSigning, CSR: []byte("x"), Mode: "steal"}
		}, ErrBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(ratest.AuditTail(s.t, s.st, 1<<20))
			_, err := s.svc.Enrol(ctx, tc.who, tc.req())
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// Syntax errors write nothing; decisions leave one refusal record.
			after := ratest.AuditTail(s.t, s.st, 1<<20)
			wantNew := 1
			if errors.Is(err, ErrBadRequest) {
				wantNew = 0
			}
			if len(after)-before != wantNew {
				t.Fatalf("%d new audit entries, want %d", len(after)-before, wantNew)
			}
			if wantNew == 1 {
				// Told "not found", audited as it was (finding 7).
				audited := tc.want
				if tc.name == "other party's ARO" {
					audited = ErrForbidden
				}
				last := after[len(after)-1]
				if last.Result != "refused: "+audited.Error() || last.Action != string(ActEnrol) {
					t.Fatalf("audit %q %q", last.Action, last.Result)
				}
			}
		})
	}
	// Only the one good certificate exists for the IS user.
	cs, err := s.svc.ListCertificates(ctx, s.aroSup, CertQuery{UserID: uid})
	if err != nil || len(cs) != 1 {
		t.Fatalf("certificates %v %v", cs, err)
	}
}

func TestRemovedOfficerRefusedAtOnce(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	if _, err := s.svc.RemoveOfficer(ctx, s.sroSup, "aro-a"); err != nil {
		t.Fatal(err)
	}
	// The Actor was authenticated before removal: the decision reloads it.
	_, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, "IS", ca.XMLSigning), Mode: ModeEnrol})
	if !errors.Is(err, ErrOfficerInactive) {
		t.Fatalf("removed ARO enrol: %v", err)
	}
	cert, _ := parseCertPEM(s.cred["aro-a"].CertPEM)
	if _, err := s.svc.Authenticate(ctx, cert); !errors.Is(err, ErrOfficerInactive) {
		t.Fatalf("removed ARO authenticates: %v", err)
	}
	// A certificate from another CA with the same CN is nobody.
	other, err := ownpki.OpenAccessCA(t.TempDir(), s.keys, s.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.IssueOfficer("admin", KindRAOperator, "RA")
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := parseCertPEM(forged.CertPEM)
	if _, err := s.svc.Authenticate(ctx, fc); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("foreign certificate: %v", err)
	}
	// The last ra-operator cannot remove itself; the approver cannot remove anyone.
	if _, err := s.svc.RemoveOfficer(ctx, s.admin, "admin"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("remove last operator: %v", err)
	}
	appr := s.actorFromDir(s.dir + "/officers/approver")
	if _, err := s.svc.RemoveOfficer(ctx, appr, "sro-a"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("approver removes: %v", err)
	}
	// The operator may not appoint a second SRO; the SRO may.
	_, _, err = s.svc.AppointOfficer(ctx, s.admin, OfficerRequest{ID: "sro-a2", Name: "Second", Kind: KindSRO, PartyID: s.supplier})
	if !errors.Is(err, ErrSROExists) {
		t.Fatalf("second SRO by operator: %v", err)
	}
	if _, _, err = s.svc.AppointOfficer(ctx, s.sroSup, OfficerRequest{ID: "sro-a2", Name: "Second", Kind: KindSRO, PartyID: s.supplier}); err != nil {
		t.Fatalf("second SRO by SRO: %v", err)
	}
	// Every refusal above is in the audit log.
	n := 0
	for _, e := range ratest.AuditTail(s.t, s.st, 1<<20) {
		if strings.HasPrefix(e.Result, "refused: ") {
			n++
		}
	}
	if n < 6 {
		t.Fatalf("%d refusals audited, want at least 6", n)
	}
	if err := VerifyAudit(ctx, s.st); err != nil {
		t.Fatal(err)
	}
	var o store.Officer
	s.st.View(ctx, func(tx store.Tx) error { o, _ = tx.GetOfficer("aro-a"); return nil })
	if o.Status != store.StatusRemoved {
		t.Fatalf("aro-a is %s", o.Status)
	}
}
