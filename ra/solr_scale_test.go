package ra

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// TestSoLRAnswersBoundedAt50000: issue 20 bounded the declaration's dry
// run; every other answer of the night holds too with a failed party of
// 50,000 certificates: the event read back, the approval (revocation
// scheduled: its answer carries the dry run), the event once the
// scheduler revoked them all, the close and the list. Each is a summary of
// a few kilobytes (the client reads at most 16 MiB, and a bigger answer
// to a change that was carried out would look failed) with the counts of
// all of them.
func TestSoLRAnswersBoundedAt50000(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("50,000 certificates")
	}
	const n = 50000
	const limit = 16 << 10 // what any of these answers may take
	s := newSoLRScenario(t)
	ctx := context.Background()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for i := range n - 1 { // and the scenario's own
			if err := tx.PutCertificate(store.Certificate{Serial: fmt.Sprintf("7b%030x", i), Issuer: ca.IssuerIssuing,
				UserID: s.userIS.String(), PartyID: s.supplier.String(), Profile: string(ca.XMLSigning), Role: "IS",
				NotBefore: ratest.Start, NotAfter: ratest.Start.AddDate(1, 0, 0), IssuedAt: ratest.Start, DER: []byte{0x30, 0}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	bounded := func(what string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > limit {
			t.Fatalf("%s: answer of %d bytes at %d certificates, want at most %d", what, len(b), n, limit)
		}
	}
	dryCount := func(what string, d *DryRun) {
		t.Helper()
		if d == nil || d.CertificateCount != n || len(d.Certificates) != DryRunSample {
			t.Fatalf("%s: dry run %+v, want %d certificates, %d listed", what, d, n, DryRunSample)
		}
	}
	later := ratest.Start.Add(time.Hour)
	dec, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC,
		Instruction: "OFGEM-SCALE", RevokeAt: &later})
	bounded("declare", dec, err)
	dryCount("declare", dec.DryRun)
	id := dec.Event.ID
	got, err := s.svc.GetSoLR(ctx, s.approver, id)
	bounded("show, declared", got, err)
	dryCount("show, declared", got.DryRun)
	app, err := s.svc.ApproveSoLR(ctx, s.approver, id)
	bounded("approve", app, err)
	dryCount("approve", app.DryRun)

	s.clock.Set(later.Add(time.Second))
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = s.svc.GetSoLR(ctx, s.approver, id)
	bounded("show, revoked", got, err)
	if e := got.Event; got.DryRun != nil || e.RevokedCount != n || len(e.Revoked) != records.RevokedSample || e.RevokedSHA256 == "" {
		t.Fatalf("event after its revocation: dry run %v, revoked %d (%d listed), want %d (%d listed)",
			got.DryRun != nil, e.RevokedCount, len(e.Revoked), n, records.RevokedSample)
	}
	closed, err := s.svc.CloseSoLR(ctx, s.liaison, id, "OFGEM-SCALE ended")
	bounded("close", closed, err)
	if closed.RevokedCount != n {
		t.Fatalf("closed event: revoked %d, want %d", closed.RevokedCount, n)
	}
	list, err := s.svc.ListSoLR(ctx, s.liaison)
	bounded("list", list, err)
}
