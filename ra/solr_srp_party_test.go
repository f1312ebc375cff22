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

// TestSoLRForASuspendedSupplier: on the night, RA staff suspend the
// failing Supplier's party first (every verifier refuses its users within
// a feed answer), then declare and approve the SoLR event. Failing a
// suspended party only tightens what suspension did, so it is declared,
// approved (the party becomes failed, its certificates revoked), and at no
// point must the party be reinstated (which would let its users act again)
// to get there; so too when it is suspended between declaration and
// approval.
func TestSoLRForASuspendedSupplier(t *testing.T) {
	t.Parallel()
	for _, suspendAfterDeclaring := range []bool{false, true} {
		t.Run(map[bool]string{false: "suspended, then declared", true: "declared, then suspended"}[suspendAfterDeclaring], func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t)
			ctx := context.Background()
			suspend := func() {
				if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.supplier, store.StatusSuspended); err != nil {
					t.Fatal(err)
				}
			}
			if !suspendAfterDeclaring {
				suspend()
			}
			res, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "OFGEM-SUSPENDED-FIRST"})
			if err != nil {
				t.Fatalf("declaring a suspended Supplier failed: %v", err)
			}
			if suspendAfterDeclaring {
				suspend()
			}
			app, err := s.svc.ApproveSoLR(ctx, s.approver, res.Event.ID)
			if err != nil {
				t.Fatalf("approving the event of a suspended Supplier: %v", err)
			}
			if app.Event.State != bundle.EventActive || s.certStatus(s.isSerial).Status != store.StatusRevoked {
				t.Fatalf("after approval: event %s, certificate %s", app.Event.State, s.certStatus(s.isSerial).Status)
			}
			if p, _ := s.svc.GetParty(ctx, s.admin, s.supplier); p.Status != PartyFailed {
				t.Fatalf("party is %s after approval, want failed", p.Status)
			}
		})
	}
}
