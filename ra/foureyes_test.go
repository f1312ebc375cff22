package ra

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestFinding1FourEyesIsAboutPeople is issue 12's finding 1: with only the
// bootstrap admin credential, admin appoints op2 (the RA hands admin op2's
// key), op2 appoints ap2, admin declares and ap2 approves. Whatever the
// length of the appointment chain from the declarer to the approver (1-4),
// and whether each appointee sent a CSR (which the appointer could have
// made) or the RA generated the key, the approval is refused and the event
// stays declared. The bootstrap approver, of another line, may approve once
// its key is one it made; a re-issue by the declarer's line puts it in
// that line.
func TestFinding1FourEyesIsAboutPeople(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 4; n++ {
		for _, csr := range []bool{false, true} {
			t.Run(fmt.Sprintf("chain %d, appointee keys %v", n, csr), func(t *testing.T) {
				t.Parallel()
				s := newSoLRScenario(t)
				ctx := context.Background()
				appoint := func(by Actor, id, kind string) Actor {
					req := OfficerRequest{ID: id, Name: "Officer " + id, Kind: kind}
					if csr {
						req.CSR = officerCSR(t, ratest.NewKey(t)) // made by the appointer: nothing stops it
					}
					_, c, err := s.svc.AppointOfficer(ctx, by, req)
					if err != nil {
						t.Fatal(err)
					}
					return s.actor(c)
				}
				by := s.admin
				for i := 1; i < n; i++ {
					by = appoint(by, fmt.Sprintf("op%d", i), KindRAOperator)
				}
				ap := appoint(by, "ap", KindRAApprover)
				ev := s.declare(s.admin, nil, nil)
				_, err := s.svc.ApproveSoLR(ctx, ap, ev.ID)
				s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
				if got, err := s.svc.GetSoLR(ctx, s.admin, ev.ID); err != nil || got.Event.State != bundle.EventDeclared {
					t.Fatalf("event after the refused approval: %+v %v", got.Event, err)
				}
				if c := s.certStatus(s.isSerial); c.Status != store.StatusGood {
					t.Fatalf("failed party's certificate %s is %s", s.isSerial, c.Status)
				}
			})
		}
	}

	t.Run("bootstrap approver", func(t *testing.T) {
		t.Parallel()
		s := newSoLRScenario(t)
		ctx := context.Background()
		ev := s.declare(s.admin, nil, nil)
		// newSoLRScenario renewed it with a key it made; the credential
		// the RA made at bootstrap is superseded and refused.
		_, err := s.svc.ApproveSoLR(ctx, s.bootApprover, ev.ID)
		if !errors.Is(err, ErrOfficerInactive) {
			t.Fatalf("superseded bootstrap credential: %v", err)
		}
		// A re-issue by the admin's line joins the approver to that line.
		k := ratest.NewKey(t)
		_, c, err := s.svc.RenewOfficerCredential(ctx, s.admin, "approver", officerCSR(t, k))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.svc.ApproveSoLR(ctx, s.actor(c), ev.ID)
		s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
	})

	t.Run("RA-generated approver key", func(t *testing.T) {
		t.Parallel()
		s := newSoLRScenario(t)
		ctx := context.Background()
		ev := s.declare(s.admin, nil, nil)
		_, c, err := s.svc.RenewOfficerCredential(ctx, s.approver, "approver", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.svc.ApproveSoLR(ctx, s.actor(c), ev.ID)
		s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
		// Renewed with a key it made, it approves.
		_, c, err = s.svc.RenewOfficerCredential(ctx, s.actor(c), "approver", officerCSR(t, ratest.NewKey(t)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.ApproveSoLR(ctx, s.actor(c), ev.ID); err != nil {
			t.Fatalf("independent approver with its own key: %v", err)
		}
	})
}
