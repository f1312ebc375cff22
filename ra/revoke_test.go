package ra

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

func TestParseReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
		err  error
	}{
		{"", 0, nil}, {"keyCompromise", 1, nil}, {"KEYCOMPROMISE", 1, nil}, {"1", 1, nil},
		{"superseded", 4, nil}, {"cessationOfOperation", 5, nil}, {"9", 9, nil},
		{"cACompromise", 0, ErrBadReason}, {"2", 0, ErrBadReason}, {"6", 0, ErrBadReason},
		{"7", 0, ErrBadReason}, {"8", 0, ErrBadReason}, {"removeFromCRL", 0, ErrBadReason}, {"nonsense", 0, ErrBadReason},
	}
	for _, tc := range tests {
		got, err := ParseReason(tc.in)
		if !errors.Is(err, tc.err) || (tc.err == nil && got != tc.want) {
			t.Errorf("ParseReason(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestBulkRevocationBounded: a bulk dry run answers a summary, and the
// audit record of a bulk revocation
// holds the count and the digest of the sorted serials, not the list
// (issue 20), and the digest is that of the revocation records committed
// with it; the audit chain still verifies.
func TestBulkRevocationBounded(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	const n = records.AuditSerialsInline + 8
	seedCerts(t, s.st, s.supplier.String(), n)
	// The dry run is a summary: the count, per user and profile, a sample
	// and where to list every one.
	dry, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: 5})
	if err != nil || !dry.DryRun || dry.CertificateCount != n || len(dry.Certificates) != DryRunSample ||
		dry.ByProfile[string(ca.XMLSigning)] != n || dry.CertificatesURL != "/v1/certificates?party_id="+s.supplier.String()+"&status=good" {
		t.Fatalf("dry run: count %d, %d listed, by profile %v, url %q, %v", dry.CertificateCount, len(dry.Certificates), dry.ByProfile, dry.CertificatesURL, err)
	}
	done, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: 5, Yes: true})
	if err != nil || len(done.Revocations) != n {
		t.Fatalf("bulk: %d revocations, %v", len(done.Revocations), err)
	}
	var revoked []string
	var entry store.AuditEntry
	err = s.st.View(ctx, func(tx store.Tx) error {
		rs, err := tx.RevocationsSince(0, 0)
		for _, r := range rs {
			revoked = append(revoked, r.Serial)
		}
		all, aerr := tx.AuditEntries(1, 0)
		for _, e := range all {
			if e.Action == string(ActRevokeParty) && e.Result == "allowed" {
				entry = e
			}
		}
		return errors.Join(err, aerr)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(revoked) != n {
		t.Fatalf("%d revocation records, want %d", len(revoked), n)
	}
	want := fmt.Sprintf("count=%d serials_sha256=%s", n, records.SerialsDigest(revoked))
	if !strings.Contains(entry.Detail, want) || strings.Contains(entry.Detail, "serials=") {
		t.Fatalf("audit detail %q, want %q and no list", entry.Detail, want)
	}
	if len(entry.Detail) > 200 {
		t.Fatalf("audit detail of %d bytes", len(entry.Detail))
	}
	if err := VerifyAudit(ctx, s.st); err != nil {
		t.Fatal(err)
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	enrol := func(p ca.Profile) string {
		is, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: p,
			CSR: csrFor(t, newKey(t), s.userIS, role.ImportSupplier, p), Mode: ModeEnrol})
		if err != nil {
			t.Fatal(err)
		}
		return is.Cert.Serial
	}
	a, b, c := enrol(ca.XMLSigning), enrol(ca.DigitalSigning), enrol(ca.KeyAgreement)
	sc, err := s.svc.Enrol(ctx, s.sroSR, EnrolRequest{UserID: s.userSC, Profile: ca.XMLSigning,
		CSR: csrFor(t, newKey(t), s.userSC, role.SoLRContingency, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	seq := func() (n uint64, crl uint64) {
		s.st.View(ctx, func(tx store.Tx) error {
			n, _ = tx.RevocationSeq()
			if c, err := tx.GetCRL("orl"); err == nil {
				crl = c.Number
			}
			return nil
		})
		return
	}

	// Another party's ARO cannot touch the supplier's certificate, nor learn it exists (finding 7).
	if _, err := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{Serial: a, Reason: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign revoke: %v", err)
	}
	// Single: revokes now, advances the sequence, reissues the ORL.
	seq0, crl0 := seq()
	res, err := s.svc.Revoke(ctx, s.aroSup, RevokeRequest{Serial: a, Reason: 1})
	if err != nil || res.DryRun || len(res.Revocations) != 1 {
		t.Fatalf("single: %+v %v", res, err)
	}
	seq1, crl1 := seq()
	if seq1 != seq0+1 || crl1 <= crl0 {
		t.Fatalf("sequence %d->%d, ORL %d->%d", seq0, seq1, crl0, crl1)
	}
	// The answer shows the new status and the sequence the revocation took.
	if c := res.Certificates; len(c) != 1 || c[0].Status != "revoked" || c[0].RevokedAt == nil || c[0].Reason == nil || *c[0].Reason != 1 {
		t.Fatalf("single: certificates %+v, want the one certificate revoked (reason 1)", c)
	}
	if r := res.Revocations[0]; r.Seq != seq1 || r.Serial != a || !res.Certificates[0].RevokedAt.Equal(r.RevokedAt) {
		t.Fatalf("single: revocation %+v, want seq %d serial %s", r, seq1, a)
	}
	if _, err := s.svc.Revoke(ctx, s.aroSup, RevokeRequest{Serial: a, Reason: 1}); !errors.Is(err, ErrAlreadyRevoked) {
		t.Fatalf("twice: %v", err)
	}
	// Bulk per party: dry run by default, lists the two good ones, changes nothing.
	if _, err := s.svc.Revoke(ctx, s.aroSup, RevokeRequest{PartyID: s.supplier, Reason: 5}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("ARO bulk party: %v", err)
	}
	dry, err := s.svc.Revoke(ctx, s.sroSup, RevokeRequest{PartyID: s.supplier, Reason: 5})
	if err != nil || !dry.DryRun || len(dry.Certificates) != 2 || len(dry.Revocations) != 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if n, _ := seq(); n != seq1 {
		t.Fatalf("dry run revoked: seq %d", n)
	}
	got := map[string]bool{}
	for _, ci := range dry.Certificates {
		got[ci.Serial] = true
	}
	if !got[b] || !got[c] || got[a] || got[sc.Cert.Serial] {
		t.Fatalf("dry run selected %v", got)
	}
	// With Yes: both revoked in one transaction, the other party untouched.
	done, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: 5, Yes: true})
	if err != nil || done.DryRun || len(done.Revocations) != 2 {
		t.Fatalf("bulk: %+v %v", done, err)
	}
	if n, _ := seq(); n != seq1+2 {
		t.Fatalf("bulk seq %d", n)
	}
	ci, err := s.svc.GetCertificate(ctx, s.sroSR, sc.Cert.Serial)
	if err != nil || ci.Status != string(store.StatusGood) {
		t.Fatalf("SRP certificate: %+v %v", ci, err)
	}
	// Per user, and the validation errors.
	u, err := s.svc.Revoke(ctx, s.sroSR, RevokeRequest{UserID: s.userSC, Reason: 4, Yes: true})
	if err != nil || len(u.Revocations) != 1 {
		t.Fatalf("per user: %+v %v", u, err)
	}
	for _, bad := range []RevokeRequest{{}, {Serial: a, UserID: s.userIS}, {Serial: b, Reason: 2}} {
		if _, err := s.svc.Revoke(ctx, s.admin, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if err := VerifyAudit(ctx, s.st); err != nil {
		t.Fatal(err)
	}
}
