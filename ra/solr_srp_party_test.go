package ra

import (
	"context"
	"strings"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/store"
)

// TestSoLRRefusesAnSRPWhosePartyIsNotActive: the SRP user named by an
// event is refused by every verifier while its party is not active
// (docs/bundle.md: "a user of a party that is not active is refused
// PARTY, whatever its own status"), so an event handing the failed
// Supplier's devices to it could serve nobody. The RA refuses it
// (E_RA_INACTIVE) when declared, and when approved if the SRP's party was
// suspended since: the approval must not fail the Supplier and revoke
// its certificates for an SRP that cannot act.
func TestSoLRRefusesAnSRPWhosePartyIsNotActive(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.srp, store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	_, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "OFGEM-SRP-SUSPENDED"})
	s.wantRefusal(err, ErrInactive, ActDeclareSoLR)
	if !strings.Contains(err.Error(), s.srp.String()) || !strings.Contains(err.Error(), "suspended") {
		t.Errorf("refusal %q does not name the SRP's party and its status", err)
	}

	// Declared while the SRP was active; suspended before the approval.
	if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.srp, store.StatusActive); err != nil {
		t.Fatal(err)
	}
	e := s.declare(s.liaison, nil, nil)
	if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.srp, store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.ApproveSoLR(ctx, s.approver, e.ID)
	s.wantRefusal(err, ErrInactive, ActApproveSoLR)
	if c := s.certStatus(s.isSerial); c.Status != store.StatusGood {
		t.Fatalf("the failed Supplier's certificate is %s after a refused approval", c.Status)
	}
	if p, _ := s.svc.GetParty(ctx, s.admin, s.supplier); p.Status != store.StatusActive {
		t.Fatalf("the Supplier's party is %s after a refused approval", p.Status)
	}
	if got, err := s.svc.GetSoLR(ctx, s.admin, e.ID); err != nil || got.Event.State != bundle.EventDeclared {
		t.Fatalf("event after the refused approval: %+v %v", got.Event, err)
	}
}
