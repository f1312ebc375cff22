package records

import (
	"errors"

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

// EffectiveSRVs returns role r's effective list and its source.
func EffectiveSRVs(tx store.Tx, r role.UserRole) ([]string, string, error) {
	l, err := EffectiveAllowList(tx, r)
	return l.SRVs, l.Source, err
}

func EffectiveAllowList(tx store.Tx, r role.UserRole) (RoleAllowList, error) {
	var rec AllowList
	err := Get(tx, KindAllowList, string(r), &rec)
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
