package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// SetAllowList replaces role r's Service Reference Variant allow-list
// (R3: configuration, not code). Only SC's list is configurable: the DUIS
// roles keep the DUIS matrix (raerr.ErrInvalidRole otherwise). Every SRV must be
// one the matrix defines, none twice (raerr.ErrPolicyInvalid); an empty list
// denies the role everything. An ra-operator only; the change and its old
// and new lists are audited.
func (s *Service) SetAllowList(ctx context.Context, a Session, r role.UserRole, srvs []string) (records.RoleAllowList, error) {
	if r != role.SoLRContingency {
		err := fmt.Errorf("%w: only the SC allow-list is configurable, not %q", raerr.ErrInvalidRole, r)
		a.Refused(ctx, authz.ActSetAllowList, "allow-list:"+string(r), err)
		return records.RoleAllowList{}, err
	}
	if srvs == nil {
		srvs = []string{}
	}
	if _, err := policy.Default().WithAllowList(r, srvs); err != nil {
		err = fmt.Errorf("%w: %w", raerr.ErrPolicyInvalid, err)
		a.Refused(ctx, authz.ActSetAllowList, "allow-list:"+string(r), err)
		return records.RoleAllowList{}, err
	}
	var out records.RoleAllowList
	err := a.Change(ctx, authz.ActSetAllowList, "allow-list:"+string(r), func(tx store.Tx, me store.Officer) (string, error) {
		if err := authz.Authorize(me, authz.ActSetAllowList, authz.Target{}); err != nil {
			return "", err
		}
		old, src, err := records.EffectiveSRVs(tx, r)
		if err != nil {
			return "", err
		}
		rec := records.AllowList{Role: r, SRVs: srvs, SetBy: me.ID, SetAt: s.now().UTC()}
		if err := records.Put(tx, records.KindAllowList, string(r), rec); err != nil {
			return "", err
		}
		out = records.RoleAllowList{Role: r, SRVs: srvs, Source: "store", SetBy: me.ID}
		return fmt.Sprintf("old=[%s] (%s) new=[%s]", strings.Join(old, ","), src, strings.Join(srvs, ",")), nil
	})
	return out, err
}

// Policy returns every role's effective allow-list (RA officers).
func (s *Service) Policy(ctx context.Context, a Session) ([]records.RoleAllowList, error) {
	var out []records.RoleAllowList
	err := a.Read(ctx, authz.ActReadPolicy, "policy", func(tx store.Tx, me store.Officer) error {
		if err := authz.Authorize(me, authz.ActReadPolicy, authz.Target{}); err != nil {
			return err
		}
		out = nil
		for _, r := range role.All() {
			l, err := records.EffectiveAllowList(tx, r)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	return out, err
}
