package ra

import (
	"context"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/verifier"
)

// TestSuccessorEventContinuesTheContingency: when the Authority extends
// a contingency (or hands it to another SRP) before its end, RA staff
// declare a successor event starting at that end, approved by a second
// person as any other, so that the SRP's authority runs on without a
// gap. Before, a party's open event refused every further declaration
// (E_RA_EXISTS) until it was closed: continuing meant closing the event
// and declaring, then approving, a new one, with the SRP refused in
// between. A successor may not overlap an open event (two SRPs or two
// windows for one failed Supplier at once), nor follow an open-ended one.
func TestSuccessorEventContinuesTheContingency(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	s.withSigner()
	ctx := context.Background()
	now := s.clock.Now()
	end1 := now.Add(2 * time.Hour)
	first := s.declare(s.liaison, nil, &end1)
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, first.ID); err != nil {
		t.Fatal(err)
	}
	declare := func(start time.Time, end *time.Time) (EventResult, error) {
		return s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC,
			Instruction: "OFGEM-SOLR-TEST-2", Start: start, End: end})
	}
	end2 := end1.Add(24 * time.Hour)
	_, err := declare(end1.Add(-time.Minute), &end2)
	s.wantRefusal(err, ErrExists, ActDeclareSoLR)
	if !strings.Contains(err.Error(), "--start "+end1.UTC().Format(time.RFC3339)) {
		t.Fatalf("an overlapping successor's refusal %q does not say it may start at the open event's end", err)
	}
	next, err := declare(end1, &end2)
	if err != nil {
		t.Fatalf("a successor starting at the open event's end: %v", err)
	}
	if _, err := declare(end2, nil); err != nil {
		t.Fatalf("a successor of the successor: %v", err)
	}
	// An open-ended successor has no successor.
	third, err := s.svc.ListSoLR(ctx, s.admin)
	if err != nil || len(third) != 3 {
		t.Fatalf("events %d (%v), want 3", len(third), err)
	}
	_, err = declare(end2.Add(time.Hour), nil)
	s.wantRefusal(err, ErrExists, ActDeclareSoLR)

	if _, err := s.svc.ApproveSoLR(ctx, s.approver, next.Event.ID); err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Options{Roots: []*x509.Certificate{s.ca.Root()}, Intermediates: []*x509.Certificate{s.ca.Issuing()},
		Bundle: s.openBundle(), Clock: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// Alerts for the failed Supplier's device reach the SRP (R7) in the
	// first event, at its end (the successor's start), and in the
	// successor, without a gap.
	for _, at := range []time.Time{end1.Add(-time.Second), end1, end1.Add(time.Hour), end2.Add(-time.Second)} {
		if to, why := v.RouteAlert(s.devA, 0x8F0A, at); !slices.Equal(to, []eui64.ID{s.userSC}) {
			t.Fatalf("alert at %s routed to %v (%s), want the SRP", at.Format(time.RFC3339), to, why)
		}
	}
}
