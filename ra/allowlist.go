package ra

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// RoleAllowList is one role's effective allow-list: the stored override
// (Source "store") or the DUIS matrix default (Source "default").
type RoleAllowList struct {
	Role   role.UserRole `json:"role"`
	SRVs   []string      `json:"srvs"`
	Source string        `json:"source"`
	SetBy  string        `json:"set_by,omitempty"`
}

// SetAllowList replaces role r's Service Reference Variant allow-list
// (R3: configuration, not code). Only SC's list is configurable: the DUIS
// roles keep the DUIS matrix (ErrInvalidRole otherwise). Every SRV must be
// one the matrix defines, none twice (ErrPolicyInvalid); an empty list
// denies the role everything. An ra-operator only; the change and its old
// and new lists are audited.
func (s *Service) SetAllowList(ctx context.Context, a Actor, r role.UserRole, srvs []string) (RoleAllowList, error) {
	if r != role.SoLRContingency {
		err := fmt.Errorf("%w: only the SC allow-list is configurable, not %q", ErrInvalidRole, r)
		s.refusedOf(ctx, a, ActSetAllowList, "allow-list:"+string(r), err)
		return RoleAllowList{}, err
	}
	if srvs == nil {
		srvs = []string{}
	}
	if _, err := policy.Default().WithAllowList(r, srvs); err != nil {
		err = fmt.Errorf("%w: %w", ErrPolicyInvalid, err)
		s.refusedOf(ctx, a, ActSetAllowList, "allow-list:"+string(r), err)
		return RoleAllowList{}, err
	}
	var out RoleAllowList
	err := s.change(ctx, a, ActSetAllowList, "allow-list:"+string(r), func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActSetAllowList, Target{}); err != nil {
			return "", err
		}
		old, src, err := allowListTx(tx, r)
		if err != nil {
			return "", err
		}
		rec := AllowList{Role: r, SRVs: srvs, SetBy: me.ID, SetAt: s.now().UTC()}
		if err := putJSON(tx, kindAllowList, string(r), rec); err != nil {
			return "", err
		}
		out = RoleAllowList{Role: r, SRVs: srvs, Source: "store", SetBy: me.ID}
		return fmt.Sprintf("old=[%s] (%s) new=[%s]", strings.Join(old, ","), src, strings.Join(srvs, ",")), nil
	})
	return out, err
}

// Policy returns every role's effective allow-list (RA officers).
func (s *Service) Policy(ctx context.Context, a Actor) ([]RoleAllowList, error) {
	var out []RoleAllowList
	err := s.read(ctx, a, ActReadPolicy, "policy", func(tx store.Tx, me store.Officer) error {
		if err := Authorize(me, ActReadPolicy, Target{}); err != nil {
			return err
		}
		out = nil
		for _, r := range role.All() {
			l, err := effectiveAllowList(tx, r)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	return out, err
}

// allowListTx returns role r's effective list and its source.
func allowListTx(tx store.Tx, r role.UserRole) ([]string, string, error) {
	l, err := effectiveAllowList(tx, r)
	return l.SRVs, l.Source, err
}

func effectiveAllowList(tx store.Tx, r role.UserRole) (RoleAllowList, error) {
	var rec AllowList
	err := getJSON(tx, kindAllowList, string(r), &rec)
	switch {
	case err == nil:
		return RoleAllowList{Role: r, SRVs: rec.SRVs, Source: "store", SetBy: rec.SetBy}, nil
	case errors.Is(err, store.ErrNotFound):
		l := policy.Default().AllowList(r)
		if l == nil {
			l = []string{}
		}
		return RoleAllowList{Role: r, SRVs: l, Source: "default"}, nil
	}
	return RoleAllowList{}, err
}
