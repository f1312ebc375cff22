package ra

import (
	"context"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/store"
)

// TestBulkRevocationOutlivesItsClient: the officer's client goes away
// (smki revoke --party --yes killed, its connection closed: the request's
// context is cancelled) while the CA is marking the party's serials. The
// revocation the RA started is carried out and committed, on both
// engines, as it would have been with the client still there: the client
// was told nothing, and its next look (smki certs --party P --status
// revoked) shows the whole party revoked, never a revocation dropped half
// way because the terminal closed.
func TestBulkRevocationOutlivesItsClient(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t, open(t)...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The client goes away as soon as the CA reports marking.
			ctx = ca.WithRevokeProgress(ctx, func(done, total int) { cancel() })
			seq := s.revocationSeq()
			res, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{PartyID: s.supplier, Reason: reasonCessation, Yes: true})
			if err != nil {
				t.Fatalf("revocation whose client left mid-way: %v", err)
			}
			if res.RevokedCount != 1 {
				t.Fatalf("revoked %d, want 1", res.RevokedCount)
			}
			if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || s.revocationSeq() != seq+1 {
				t.Fatalf("after the client left: certificate %s, revocation sequence %d (was %d)", c.Status, s.revocationSeq(), seq)
			}
			if x := s.lastAudit(ActRevokeParty); x.Result != "allowed" {
				t.Fatalf("audit of the revocation: %+v", x)
			}
		})
	}
}
