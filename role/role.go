// Package role owns the SMKI identity vocabulary shared by the CA, the RA and
// the verifier: DUIS User Roles and their project-defined OIDs, the
// smkiUserRole binding carried in every certificate smki issues, and the
// Remote Party Role codes carried in a certificate's OU.
//
// It holds facts, not policy: which role may have which certificate profile
// is decided in ra/, and which role may send which Service Request by the
// policy bundle the verifier reads.
package role

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownRole is returned (wrapped) for a role code or OID smki does not know.
var ErrUnknownRole = errors.New("E_ROLE_UNKNOWN")

// UserRole is a DUIS User Role code such as "IS" or "SC".
type UserRole string

// The DUIS User Roles, plus SoLR Contingency (SC, a project-defined code).
const (
	ImportSupplier          UserRole = "IS"
	ExportSupplier          UserRole = "ES"
	GasSupplier             UserRole = "GS"
	RegisteredSupplierAgent UserRole = "RSA"
	ElectricityDistributor  UserRole = "ED"
	GasTransporter          UserRole = "GT"
	OtherUser               UserRole = "OU"
	SoLRContingency         UserRole = "SC"
)

// all lists the roles in OID order: all[i] has OID A.1.(i+1).
var all = []UserRole{ImportSupplier, ExportSupplier, GasSupplier, RegisteredSupplierAgent,
	ElectricityDistributor, GasTransporter, OtherUser, SoLRContingency}

// All returns every User Role smki knows, in OID order.
func All() []UserRole { return append([]UserRole(nil), all...) }

// Parse returns the UserRole for a code, case-insensitively.
func Parse(s string) (UserRole, error) {
	r := UserRole(strings.ToUpper(strings.TrimSpace(s)))
	for _, k := range all {
		if k == r {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownRole, s)
}

// Valid reports whether r is a role smki knows.
func (r UserRole) Valid() bool {
	_, err := Parse(string(r))
	return err == nil && string(r) == strings.ToUpper(string(r))
}

// Name returns the role's human-readable name.
func (r UserRole) Name() string {
	switch r {
	case ImportSupplier:
		return "Import Supplier"
	case ExportSupplier:
		return "Export Supplier"
	case GasSupplier:
		return "Gas Supplier"
	case RegisteredSupplierAgent:
		return "Registered Supplier Agent"
	case ElectricityDistributor:
		return "Electricity Distributor"
	case GasTransporter:
		return "Gas Transporter"
	case OtherUser:
		return "Other User"
	case SoLRContingency:
		return "SoLR Contingency"
	}
	return string(r)
}
