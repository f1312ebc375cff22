package ra

import (
	"context"
	"strings"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestApprovalNamesTheDryRunItApproves: an approver approves what a dry
// run showed them, but a certificate issued to the failed party between
// that dry run and the approval was revoked too, unseen. The dry run now
// carries certificates_sha256 (SerialsDigest of the good certificates it
// counts), and an approval that names it is refused E_RA_DRY_RUN_CHANGED,
// changing nothing, when the party's certificates are no longer that set;
// naming the new dry run's digest approves, and the revocation then
// revokes exactly that set. An approval naming none approves as before.
func TestApprovalNamesTheDryRunItApproves(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	res, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "OFGEM-SOLR-TEST-1"})
	if err != nil {
		t.Fatal(err)
	}
	seen := res.DryRun.CertificatesSHA256
	if seen != records.SerialsDigest([]string{s.isSerial}) {
		t.Fatalf("declaration's dry run certificates_sha256 %q, want the digest of its one certificate", seen)
	}
	// Another certificate for the failed party after the dry run.
	late, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, digest string
		want         error
	}{
		{"the dry run before a certificate was issued", seen, ErrDryRunChanged},
		{"not a SHA-256", "sha256:xyz", ErrBadRequest},
		{"upper-case hex of another set", strings.ToUpper(records.SerialsDigest([]string{late.Cert.Serial})), ErrDryRunChanged},
	}
	for _, tc := range tests {
		_, err := s.svc.ApproveSoLRAsShown(ctx, s.approver, res.Event.ID, tc.digest)
		s.wantRefusal(err, tc.want, ActApproveSoLR)
		if tc.want == ErrDryRunChanged && (!strings.Contains(err.Error(), "smki solr show "+res.Event.ID) || !strings.Contains(err.Error(), "2 ")) {
			t.Errorf("%s: refusal %q does not give the count now and the way to read the new dry run", tc.name, err)
		}
		got, err := s.svc.GetSoLR(ctx, s.admin, res.Event.ID)
		if err != nil || got.Event.State != bundle.EventDeclared {
			t.Fatalf("%s: event after a refused approval: %+v %v, want declared", tc.name, got.Event, err)
		}
		if st := s.partyStatusOf(t); st != store.StatusActive || s.certStatus(s.isSerial).Status != store.StatusGood {
			t.Fatalf("%s: a refused approval changed the party (%s) or its certificates", tc.name, st)
		}
	}

	now, err := s.svc.GetSoLR(ctx, s.approver, res.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := records.SerialsDigest([]string{s.isSerial, late.Cert.Serial})
	if now.DryRun.CertificatesSHA256 != want || now.DryRun.CertificateCount != 2 {
		t.Fatalf("dry run now: %d certificates, sha256 %q; want 2, %q", now.DryRun.CertificateCount, now.DryRun.CertificatesSHA256, want)
	}
	got, err := s.svc.ApproveSoLRAsShown(ctx, s.approver, res.Event.ID, now.DryRun.CertificatesSHA256)
	if err != nil {
		t.Fatalf("approval naming the current dry run: %v", err)
	}
	if got.Event.RevokedCount != 2 || got.Event.RevokedSHA256 != want {
		t.Fatalf("revoked %d (%s), want the 2 approved (%s)", got.Event.RevokedCount, got.Event.RevokedSHA256, want)
	}
	if x := s.lastAudit(ActApproveSoLR); !strings.Contains(x.Detail, "certificates_sha256="+want) {
		t.Fatalf("approval audit detail %q does not record the dry run approved", x.Detail)
	}
}

// TestDryRunDigestWithheldFromTheSRP: an SRP party's officer, who is not
// shown the failed party's certificates, is not shown their digest either.
func TestDryRunDigestWithheldFromTheSRP(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	e := s.declare(s.liaison, nil, nil)
	got, err := s.svc.GetSoLR(context.Background(), s.aroSR, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.DryRun.CertificatesWithheld || got.DryRun.CertificatesSHA256 != "" {
		t.Fatalf("SRP officer's dry run: withheld %v, certificates_sha256 %q; want withheld and empty", got.DryRun.CertificatesWithheld, got.DryRun.CertificatesSHA256)
	}
}
