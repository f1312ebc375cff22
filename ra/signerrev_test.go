package ra

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestFinding3SignerRevokedByFourEyes is the rest of issue 12's finding 3:
// the RA's own signer certificate is revoked only by the RA's own
// procedure, by two people under the SoLR approval's four-eyes rule. No
// party officer, and no single RA officer, reaches it; an approver of the
// requester's appointment line, or with an RA-made key, is refused; an
// independent approver revokes it, and because it was the signer in use
// the RA first rotates to a new one, which signs the feed page and the
// bundle carrying the revocation (verifiers switch without a gap).
func TestFinding3SignerRevokedByFourEyes(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	sig := s.withSigner()
	old := ca.SerialHex(sig.Chain()[0].SerialNumber)

	// Nobody but an ra-operator requests; nothing but this reaches it.
	for _, a := range []Actor{s.aroSup, s.sroSup, s.approver, s.liaison} {
		if _, err := s.svc.RequestSignerRevocation(ctx, a, old, 1); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s requesting: %v, want %v", a.ID(), err, ErrForbidden)
		}
	}
	if _, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{Serial: old, Reason: 1}); !errors.Is(err, ErrForbidden) {
		t.Errorf("one operator revoking by serial: %v, want %v", err, ErrForbidden)
	}
	if _, err := s.svc.RequestSignerRevocation(ctx, s.admin, s.isSerial, 1); !errors.Is(err, ErrBadRequest) {
		t.Errorf("requesting a party's certificate: %v, want %v", err, ErrBadRequest)
	}

	req, err := s.svc.RequestSignerRevocation(ctx, s.admin, old, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RequestSignerRevocation(ctx, s.admin, old, 1); !errors.Is(err, ErrExists) {
		t.Errorf("a second open request: %v, want %v", err, ErrExists)
	}
	if c := s.certStatus(old); c.Status != store.StatusGood {
		t.Fatalf("a request alone revoked the signer: %s", c.Status)
	}

	// The requester, and an approver the requester appointed (and so
	// could be), are refused: the same rule as a SoLR approval.
	_, err = s.svc.ApproveSignerRevocation(ctx, s.admin, req.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSignerRevocation)
	_, c, err := s.svc.AppointOfficer(ctx, s.admin, OfficerRequest{ID: "ap-line", Name: "Same Line", Kind: KindRAApprover,
		CSR: officerCSR(t, ratest.NewKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.ApproveSignerRevocation(ctx, s.actor(c), req.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSignerRevocation)
	if got := ca.SerialHex(sig.Chain()[0].SerialNumber); got != old || s.certStatus(old).Status != store.StatusGood {
		t.Fatalf("a refused approval changed the signer (now %s) or revoked it", got)
	}

	// An independent approver with a key of its own: rotated, then revoked.
	done, err := s.svc.ApproveSignerRevocation(ctx, s.approver, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur := ca.SerialHex(sig.Chain()[0].SerialNumber)
	if cur == old || done.NewSigner != cur || done.State != SignerRevocationRevoked || done.ApprovedBy != "approver" {
		t.Fatalf("after approval: signer %s (old %s), request %+v", cur, old, done)
	}
	if st := s.certStatus(old).Status; st != store.StatusRevoked {
		t.Fatalf("old signer is %s", st)
	}
	if st := s.certStatus(cur).Status; st != store.StatusGood {
		t.Fatalf("new signer is %s", st)
	}
	// The new signer is the one the RA opens at its next start.
	again, err := ownpki.OpenSystemSigner(ctx, filepath.Join(s.dir, "ra"), s.keys, s.ca, ownpki.DefaultSystemID, s.clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ca.SerialHex(again.Chain()[0].SerialNumber); got != cur {
		t.Fatalf("reopened signer %s, want the rotated-in %s", got, cur)
	}
	if e := s.lastAudit(ActApproveSignerRevocation); e.Result != "allowed" || e.Actor != "approver" {
		t.Fatalf("approval audit %+v", e)
	}
	if _, err := s.svc.ApproveSignerRevocation(ctx, s.approver, req.ID); !errors.Is(err, ErrEventState) {
		t.Errorf("approving twice: %v, want %v", err, ErrEventState)
	}

	// What verifiers receive next is signed by the new signer and carries
	// the old one's revocation.
	env, err := s.svc.Feed(ctx, s.admin, FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := bundle.OpenFeedPage(env, s.roots(), s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := ca.SerialHex(page.Signer.SerialNumber); got != cur {
		t.Fatalf("feed page signed by %s, want the new signer %s", got, cur)
	}
	revoked := false
	for _, r := range page.Revoked {
		revoked = revoked || r.Serial == old
	}
	if !revoked {
		t.Fatalf("feed page does not revoke the old signer %s: %+v", old, page.Revoked)
	}
	data, err := s.svc.ExportBundle(ctx, s.admin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(data, s.roots(), s.clock.Now())
	if err != nil {
		t.Fatalf("bundle after rotation: %v", err)
	}
	if got := ca.SerialHex(b.Signer.SerialNumber); got != cur {
		t.Fatalf("bundle signed by %s, want %s", got, cur)
	}
	list, err := s.svc.ListSignerRevocations(ctx, s.liaison)
	if err != nil || len(list) != 1 || list[0].ID != req.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := s.svc.ListSignerRevocations(ctx, s.aroSup); !errors.Is(err, ErrForbidden) {
		t.Errorf("party officer listing: %v", err)
	}
}
