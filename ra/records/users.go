package records

import (
	"errors"
	"fmt"
	"slices"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// IsSupplierRole: the roles devices are registered to.
func IsSupplierRole(r string) bool {
	return r == string(role.ImportSupplier) || r == string(role.ExportSupplier) || r == string(role.GasSupplier)
}

// SupplierUsers returns the supplier users (IS, ES, GS) of party, sorted.
func SupplierUsers(tx store.Tx, party eui64.ID) ([]eui64.ID, error) {
	us, err := tx.ListUsers(party.String())
	if err != nil {
		return nil, raerr.FromStore("users", err)
	}
	var out []eui64.ID
	for _, u := range us {
		if IsSupplierRole(u.Role) {
			id, err := eui64.Parse(u.ID)
			if err != nil {
				return nil, fmt.Errorf("%w: stored user %q: %v", raerr.ErrInternal, u.ID, err)
			}
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b eui64.ID) int { return compareEUI(a, b) })
	return out, nil
}

func compareEUI(a, b eui64.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// IsNotFound reports a store or RA not-found.
func IsNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, raerr.ErrNotFound)
}
