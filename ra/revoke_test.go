package ra

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ratest"
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

// TestBulkRevocationBounded: a bulk dry run and a bulk revocation answer
// a summary of bounded size (issue 20) whose counts, digest, sample and
// sequence numbers are those of the store's records; the audit record
// holds the count and the digest of the sorted serials, not the list, and
// the digest is that of the revocation records committed with it; the
// audit chain still verifies.
func TestBulkRevocationBounded(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	const n = records.RevokedSample + 30
	const other = 7 // of a second user and profile
	seedCerts(t, s.st, s.supplier.String(), n)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for i := range other {
			sn := fmt.Sprintf("7f%030x", i)
			if err := tx.PutCertificate(store.Certificate{Serial: sn, Issuer: ca.IssuerIssuing, UserID: "90-B3-D5-1F-30-01-00-09",
				PartyID: s.supplier.String(), Profile: string(ca.KeyAgreement), Role: string(role.ImportSupplier), KeyHash: sn,
				NotBefore: ratest.Start, NotAfter: ratest.Start.AddDate(1, 0, 0), IssuedAt: ratest.Start, DER: []byte("der:" + sn),
				Status: store.StatusGood}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const all = n + other
	// The dry run is a summary: the count, per user and profile, a sample
	// and where to list every one.
	dry, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: 5})
	if err != nil || !dry.DryRun || dry.CertificateCount != all || len(dry.Certificates) != DryRunSample ||
		dry.ByProfile[string(ca.XMLSigning)] != n || dry.CertificatesURL != "/v1/certificates?party_id="+s.supplier.String()+"&status=good" ||
		dry.RevokedCount != 0 || len(dry.Revocations) != 0 {
		t.Fatalf("dry run: count %d, %d listed, by profile %v, url %q, revoked %d, %v", dry.CertificateCount, len(dry.Certificates),
			dry.ByProfile, dry.CertificatesURL, dry.RevokedCount, err)
	}
	done, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: 5, Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	var revoked []string
	var entry store.AuditEntry
	byUser, byProfile := map[string]int{}, map[string]int{}
	recs := map[string]store.Revocation{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		rs, err := tx.RevocationsSince(0, 0)
		for _, r := range rs {
			revoked = append(revoked, r.Serial)
			recs[r.Serial] = r
		}
		cs, cerr := tx.ListCertificates(store.CertFilter{PartyID: s.supplier.String(), Status: store.StatusRevoked})
		for _, c := range cs {
			byUser[c.UserID]++
			byProfile[c.Profile]++
		}
		all, aerr := tx.AuditEntries(1, 0)
		for _, e := range all {
			if e.Action == string(ActRevokeParty) && e.Result == "allowed" {
				entry = e
			}
		}
		return errors.Join(err, cerr, aerr)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(revoked) != all {
		t.Fatalf("%d revocation records, want %d", len(revoked), all)
	}
	digest := records.SerialsDigest(revoked)
	want := fmt.Sprintf("count=%d serials_sha256=%s", all, digest)
	if !strings.Contains(entry.Detail, want) || strings.Contains(entry.Detail, "serials=") {
		t.Fatalf("audit detail %q, want %q and no list", entry.Detail, want)
	}
	if len(entry.Detail) > 200 {
		t.Fatalf("audit detail of %d bytes", len(entry.Detail))
	}
	// The answer: the same count and digest as the store's records, the
	// counts of the store's revoked certificates, a sample of each kind,
	// and the sequence numbers the records took.
	if done.DryRun || done.CertificateCount != all || done.RevokedCount != all || done.RevokedSHA256 != digest {
		t.Fatalf("bulk: dry run %v, count %d, revoked %d, digest %s; want %d and %s", done.DryRun, done.CertificateCount,
			done.RevokedCount, done.RevokedSHA256, all, digest)
	}
	if !reflect.DeepEqual(done.ByUser, byUser) || !reflect.DeepEqual(done.ByProfile, byProfile) || len(byUser) != 2 {
		t.Fatalf("bulk: by user %v, by profile %v; the store has %v, %v", done.ByUser, done.ByProfile, byUser, byProfile)
	}
	if done.CertificatesURL != "/v1/certificates?party_id="+s.supplier.String()+"&status=revoked" {
		t.Fatalf("bulk: certificates_url %q", done.CertificatesURL)
	}
	if len(done.Revoked) != records.RevokedSample || !slices.Equal(done.Revoked, revoked[:records.RevokedSample]) {
		t.Fatalf("bulk: sample of %d serials, want the first %d of the store's records", len(done.Revoked), records.RevokedSample)
	}
	first, last := recs[revoked[0]].Seq, recs[revoked[all-1]].Seq
	if done.FirstSeq != first || done.LastSeq != last || last-first != all-1 || done.RevokedAt == nil ||
		!done.RevokedAt.Equal(recs[revoked[0]].RevokedAt) {
		t.Fatalf("bulk: seq %d..%d at %v; the store's records %d..%d", done.FirstSeq, done.LastSeq, done.RevokedAt, first, last)
	}
	if len(done.Certificates) != DryRunSample || len(done.Revocations) != DryRunSample {
		t.Fatalf("bulk: %d certificates and %d revocations listed, want the sample of %d", len(done.Certificates), len(done.Revocations), DryRunSample)
	}
	for i, c := range done.Certificates {
		r, ok := recs[c.Serial]
		if !ok || c.Status != string(store.StatusRevoked) || c.Reason == nil || *c.Reason != 5 || done.Revocations[i].Serial != c.Serial ||
			done.Revocations[i].Seq != r.Seq {
			t.Fatalf("bulk: listed %+v with %+v; the store's record %+v (%v)", c, done.Revocations[i], r, ok)
		}
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
			CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, p), Mode: ModeEnrol})
		if err != nil {
			t.Fatal(err)
		}
		return is.Cert.Serial
	}
	a, b, c := enrol(ca.XMLSigning), enrol(ca.DigitalSigning), enrol(ca.KeyAgreement)
	sc, err := s.svc.Enrol(ctx, s.sroSR, EnrolRequest{UserID: s.userSC, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userSC, role.SoLRContingency, ca.XMLSigning), Mode: ModeEnrol})
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
	// Sent again (its answer lost): refused, saying the revocation stands.
	if _, err := s.svc.Revoke(ctx, s.aroSup, RevokeRequest{Serial: a, Reason: 1}); !errors.Is(err, ErrAlreadyRevoked) ||
		!strings.Contains(err.Error(), "nothing was changed: the revocation stands") {
		t.Fatalf("twice: %v, want E_RA_ALREADY_REVOKED saying the revocation stands", err)
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
	if err != nil || done.DryRun || len(done.Revocations) != 2 || done.RevokedCount != 2 {
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
	if err != nil || len(u.Revocations) != 1 || u.RevokedCount != 1 {
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
