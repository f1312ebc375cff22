package ra

import (
	"context"
	"slices"
	"testing"

	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
)

func TestSetAllowList(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	tests := []struct {
		name string
		who  Actor
		role role.UserRole
		srvs []string
		want error
	}{
		{"unknown SRV", s.admin, role.SoLRContingency, []string{"1.6", "99.9"}, ErrPolicyInvalid},
		{"malformed SRV", s.admin, role.SoLRContingency, []string{"1.06"}, ErrPolicyInvalid},
		{"SRV twice", s.admin, role.SoLRContingency, []string{"1.6", "1.6"}, ErrPolicyInvalid},
		{"DUIS role not configurable", s.admin, role.ImportSupplier, []string{"1.6"}, ErrInvalidRole},
		{"sro may not set", s.sroSR, role.SoLRContingency, []string{"1.6"}, ErrForbidden},
	}
	for _, tc := range tests {
		_, err := s.svc.SetAllowList(ctx, tc.who, tc.role, tc.srvs)
		s.wantRefusal(err, tc.want, ActSetAllowList)
		if n := s.records(records.KindAllowList); n != 0 {
			t.Fatalf("%s: %d allow-lists stored after a refusal", tc.name, n)
		}
	}
	effective := func() []string {
		ls, err := s.svc.Policy(ctx, s.admin)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Role == role.SoLRContingency {
				return l.SRVs
			}
		}
		t.Fatal("no SC list")
		return nil
	}
	if got := effective(); !slices.Equal(got, []string{"1.6"}) {
		t.Fatalf("default SC list %v, want [1.6]", got)
	}
	for _, srvs := range [][]string{{"1.6", "4.1.1"}, {}} {
		l, err := s.svc.SetAllowList(ctx, s.admin, role.SoLRContingency, srvs)
		if err != nil || l.Source != "store" {
			t.Fatalf("set %v: %+v %v", srvs, l, err)
		}
		if got := effective(); !slices.Equal(got, srvs) {
			t.Fatalf("effective %v, want %v", got, srvs)
		}
	}
	if x := s.lastAudit(ActSetAllowList); x.Result != "allowed" || x.Detail != "old=[1.6,4.1.1] (store) new=[]" {
		t.Fatalf("audit %+v", x)
	}
	_, err := s.svc.Policy(ctx, s.sroSR)
	s.wantRefusal(err, ErrForbidden, ActReadPolicy)
}
