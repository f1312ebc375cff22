package ra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestSetOfficerStatus: a suspended officer is refused from its next
// request (E_RA_OFFICER_INACTIVE) and acts again once reinstated, with
// the same credential; each change is one audited transaction. The party's
// SRO suspends its own ARO but not another SRO; another party's officer is
// not there to it; the last active ra-operator is not suspended; removal
// is final; a status the officer already has is E_RA_INACTIVE.
func TestSetOfficerStatus(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()

	for _, tc := range []struct {
		name, id, status string
		who              Actor
		want             error
	}{
		{"ARO may not suspend", "aro-a", "suspended", s.aroSup, ErrForbidden},
		{"SRO may not suspend an SRO", "sro-srp", "suspended", s.sroSup, ErrNotFound}, // another party's: not there
		{"the last ra-operator", "admin", "suspended", s.admin, ErrForbidden},
		{"already active", "aro-a", "active", s.admin, ErrInactive},
		{"bad status", "aro-a", "removed", s.admin, ErrBadRequest},
	} {
		_, err := s.svc.SetOfficerStatus(ctx, tc.who, tc.id, tc.status)
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	o, err := s.svc.SetOfficerStatus(ctx, s.sroSup, "aro-a", "suspended")
	if err != nil || o.Status != store.StatusSuspended {
		t.Fatalf("suspend: %+v %v", o, err)
	}
	if a := s.lastAudit(ActSuspendOfficer); a.Result != "allowed" || a.Actor != "sro-a" || a.Detail != `kind=aro party="`+s.supplier.String()+`" status=suspended from=active` {
		t.Fatalf("audit: %+v", a)
	}
	// Refused at once, whatever it asks: a read, an enrolment, its own renewal.
	if _, err := s.svc.Authenticate(ctx, s.aroSup.cert); CodeOf(err) != ErrOfficerInactive.Error() {
		t.Fatalf("suspended officer authenticated: %v", err)
	}
	_, err = s.svc.Enrol(ctx, s.aroSup, s.isReq(t, ratest.NewKey(t), ModeEnrol, ""))
	s.wantRefusal(err, ErrOfficerInactive, ActEnrol)
	if _, err := s.svc.ListUsers(ctx, s.aroSup, eui64.ID{}); CodeOf(err) != ErrOfficerInactive.Error() {
		t.Fatalf("suspended list: %v", err)
	}
	// Not re-issued while suspended.
	if _, _, err := s.svc.RenewOfficerCredential(ctx, s.sroSup, "aro-a", officerCSR(t, ratest.NewKey(t))); CodeOf(err) != ErrInactive.Error() ||
		!strings.Contains(err.Error(), "reinstate") {
		t.Fatalf("re-issue while suspended: %v", err)
	}
	_, err = s.svc.SetOfficerStatus(ctx, s.sroSup, "aro-a", "suspended")
	s.wantRefusal(err, ErrInactive, ActSuspendOfficer)

	// Reinstated: the same credential acts again.
	if o, err := s.svc.SetOfficerStatus(ctx, s.sroSup, "aro-a", "active"); err != nil || o.Status != store.StatusActive {
		t.Fatalf("reinstate: %+v %v", o, err)
	}
	if _, err := s.svc.Enrol(ctx, s.aroSup, s.isReq(t, ratest.NewKey(t), ModeEnrol, "")); err != nil {
		t.Fatalf("enrol after reinstatement: %v", err)
	}

	// A second ra-operator may be suspended, and the first then is the
	// last; a suspended operator may be removed; removal is final.
	op2 := s.officer(s.admin, "op2", KindRAOperator, eui64.ID{})
	if _, err := s.svc.SetOfficerStatus(ctx, op2, "admin", "suspended"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetOfficerStatus(ctx, op2, "op2", "suspended"); CodeOf(err) != ErrForbidden.Error() {
		t.Fatalf("last operator suspends itself: %v", err)
	}
	if _, err := s.svc.RemoveOfficer(ctx, op2, "admin"); err != nil {
		t.Fatalf("remove a suspended operator: %v", err)
	}
	_, err = s.svc.SetOfficerStatus(ctx, op2, "admin", "active")
	s.wantRefusal(err, ErrInactive, ActReinstateOfficer)
}

// TestWhoamiRefusesInactive: Whoami, a library entry point (the console
// calls it after Authenticate, in its own transaction), answers an
// officer suspended or removed since with the refusal Authenticate
// gives, not the officer record.
func TestWhoamiRefusesInactive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(s *scenario) error
	}{
		{"suspended", func(s *scenario) error {
			_, err := s.svc.SetOfficerStatus(context.Background(), s.admin, "aro-a", "suspended")
			return err
		}},
		{"removed", func(s *scenario) error {
			_, err := s.svc.RemoveOfficer(context.Background(), s.admin, "aro-a")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			if _, err := s.svc.Whoami(context.Background(), s.aroSup); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(s); err != nil {
				t.Fatal(err)
			}
			if o, err := s.svc.Whoami(context.Background(), s.aroSup); !errors.Is(err, ErrOfficerInactive) {
				t.Fatalf("Whoami of a %s officer: %+v, %v; want %s", tc.name, o, err, CodeOf(ErrOfficerInactive))
			}
		})
	}
}
