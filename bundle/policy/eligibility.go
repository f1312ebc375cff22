package policy

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/smki/smki/role"
)

// Variant is one Service Reference Variant's metadata.
type Variant struct {
	SRV      string // e.g. "1.6"
	Name     string // DUIS Service Request name, e.g. "Update Payment Mode"
	Critical bool   // a Critical Service Request (signed GBCS for SMETS2+)
}

// Eligibility says which User Roles may send which Service Reference
// Variants. It is immutable once built (Parse, Default, WithAllowList), so
// it is safe for concurrent use and may be shared.
type Eligibility struct {
	variants map[string]Variant
	allow    map[role.UserRole]map[string]struct{}
}

//go:embed default-eligibility.json
var defaultFile []byte

var defaultOnce = sync.OnceValue(func() *Eligibility {
	e, err := Parse(defaultFile)
	if err != nil {
		// Unreachable unless the embedded file is broken, which
		// TestDefaultParses would have caught before release.
		panic(fmt.Sprintf("policy: embedded default-eligibility.json: %v", err))
	}
	return e
})

// Default returns the project's default eligibility, parsed once from the
// embedded default-eligibility.json: DUIS eligibility for all 129 SRVs,
// and SC allowed exactly SRV 1.6. The result is shared and immutable.
func Default() *Eligibility { return defaultOnce() }

// Allowed reports whether role r may send SRV srv. Unknown roles and SRVs
// are not allowed (default deny).
func (e *Eligibility) Allowed(r role.UserRole, srv string) bool {
	_, ok := e.allow[r][srv]
	return ok
}

// AllowList returns the SRVs role r may send, in DUIS order (numerically by
// component). It is empty for a role with no SRV or an unknown role.
func (e *Eligibility) AllowList(r role.UserRole) []string {
	out := slices.Collect(maps.Keys(e.allow[r]))
	slices.SortFunc(out, compareSRV)
	return out
}

// Roles returns the roles that may send srv, in role.All order.
func (e *Eligibility) Roles(srv string) []role.UserRole {
	var out []role.UserRole
	for _, r := range role.All() {
		if e.Allowed(r, srv) {
			out = append(out, r)
		}
	}
	return out
}

// Variant returns the metadata of srv.
func (e *Eligibility) Variant(srv string) (Variant, bool) {
	v, ok := e.variants[srv]
	return v, ok
}

// Variants returns every SRV's metadata in DUIS order.
func (e *Eligibility) Variants() []Variant {
	out := slices.Collect(maps.Values(e.variants))
	slices.SortFunc(out, func(a, b Variant) int { return compareSRV(a.SRV, b.SRV) })
	return out
}

// WithAllowList returns a copy of e in which role r may send exactly srvs
// (R3: SC's list is configuration). r must be a known role; every SRV must
// be one e defines, and none may repeat. An empty list denies the role
// everything. e itself is unchanged; on error nothing is returned.
func (e *Eligibility) WithAllowList(r role.UserRole, srvs []string) (*Eligibility, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("%w: %w: %q", ErrInvalid, role.ErrUnknownRole, r)
	}
	set := make(map[string]struct{}, len(srvs))
	for _, s := range srvs {
		if _, ok := e.variants[s]; !ok {
			return nil, fmt.Errorf("%w: %q (allow-list of %s)", ErrUnknownVariant, s, r)
		}
		if _, dup := set[s]; dup {
			return nil, fmt.Errorf("%w: SRV %s twice in the allow-list of %s", ErrInvalid, s, r)
		}
		set[s] = struct{}{}
	}
	out := &Eligibility{
		variants: e.variants, // never mutated, so shared
		allow:    make(map[role.UserRole]map[string]struct{}, len(e.allow)+1),
	}
	for k, v := range e.allow {
		out.allow[k] = v // likewise never mutated
	}
	out.allow[r] = set
	return out, nil
}
