package eligibility

import (
	"errors"
	"slices"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/role"
)

func TestEligibleMatrix(t *testing.T) {
	t.Parallel()
	// R2 stated directly, independent of the table's layout.
	if err := Eligible(role.SoLRContingency, ca.XMLSigning); err != nil {
		t.Errorf("SC xml-signing: %v", err)
	}
	for _, p := range []ca.Profile{ca.DigitalSigning, ca.KeyAgreement} {
		if err := Eligible(role.SoLRContingency, p); !errors.Is(err, raerr.ErrNotEligible) {
			t.Errorf("SC %s: got %v, want %v", p, err, raerr.ErrNotEligible)
		}
	}
	for _, r := range []role.UserRole{role.ImportSupplier, role.ExportSupplier, role.GasSupplier} {
		if got := EligibleProfiles(r); !slices.Equal(got, ca.Profiles()) {
			t.Errorf("supplier %s: %v, want all three", r, got)
		}
	}
	if err := Eligible("ZZ", ca.XMLSigning); !errors.Is(err, raerr.ErrInvalidRole) {
		t.Errorf("unknown role: %v", err)
	}
	if err := Eligible(role.ImportSupplier, ca.DSPXMLSigning); !errors.Is(err, raerr.ErrInvalidProfile) {
		t.Errorf("system profile: %v", err)
	}
	for _, r := range role.All() {
		if len(EligibleProfiles(r)) == 0 {
			t.Errorf("role %s has no row in the matrix", r)
		}
	}
}
