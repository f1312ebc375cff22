package eligibility

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/role"
)

// Short names for the user certificate profiles ca/ defines.
const (
	ProfileXMLSigning     = ca.XMLSigning
	ProfileDigitalSigning = ca.DigitalSigning
	ProfileKeyAgreement   = ca.KeyAgreement
)

// eligibility is THE User Role -> certificate profile matrix: the only
// place that says which certificates a role may hold. Every issuing path
// (enrol, renew, re-key) asks Eligible, so a change here is a change of
// policy everywhere. Why each row (docs/api.md repeats it for operators):
//   - Suppliers (IS, ES, GS) sign DUIS XML, sign GBCS Critical Commands
//     (their digital-signing certificate is a device trust anchor) and
//     agree keys with devices: all three.
//   - Network operators (ED, GT) have their own trust-anchor cells on
//     devices (remote party role 03) and send Critical Commands: all three.
//   - RSA and OU send only non-critical Service Requests: xml-signing, plus
//     key-agreement to read sensitive responses; never digital-signing,
//     since no device trusts them for Critical Commands.
//   - SC (SoLR Contingency, MP134B R2) signs DUIS XML only. It must never
//     hold digital-signing or key-agreement: the SRP signs the GBCS command
//     with the failed Supplier's key, never its own.
var eligibility = map[role.UserRole][]ca.Profile{
	role.ImportSupplier:          {ProfileXMLSigning, ProfileDigitalSigning, ProfileKeyAgreement},
	role.ExportSupplier:          {ProfileXMLSigning, ProfileDigitalSigning, ProfileKeyAgreement},
	role.GasSupplier:             {ProfileXMLSigning, ProfileDigitalSigning, ProfileKeyAgreement},
	role.ElectricityDistributor:  {ProfileXMLSigning, ProfileDigitalSigning, ProfileKeyAgreement},
	role.GasTransporter:          {ProfileXMLSigning, ProfileDigitalSigning, ProfileKeyAgreement},
	role.RegisteredSupplierAgent: {ProfileXMLSigning, ProfileKeyAgreement},
	role.OtherUser:               {ProfileXMLSigning, ProfileKeyAgreement},
	role.SoLRContingency:         {ProfileXMLSigning},
}

// EligibleProfiles returns the profiles r may hold (a copy; nil for an
// unknown role).
func EligibleProfiles(r role.UserRole) []ca.Profile {
	return slices.Clone(eligibility[r])
}

// Eligible returns nil if a user of role r may hold a certificate of
// profile p, else an error wrapping raerr.ErrInvalidProfile (unknown profile),
// raerr.ErrInvalidRole (unknown role) or raerr.ErrNotEligible.
func Eligible(r role.UserRole, p ca.Profile) error {
	if !slices.Contains(ca.Profiles(), p) {
		return fmt.Errorf("%w: %q", raerr.ErrInvalidProfile, p)
	}
	ps, ok := eligibility[r]
	if !ok {
		return fmt.Errorf("%w: %q", raerr.ErrInvalidRole, r)
	}
	if !slices.Contains(ps, p) {
		names := make([]string, len(ps))
		for i, q := range ps {
			names[i] = string(q)
		}
		return fmt.Errorf("%w: User Role %s may not hold %s certificates; User Role %s may hold %s only",
			raerr.ErrNotEligible, r, p, r, strings.Join(names, ", "))
	}
	return nil
}

// ParseProfile returns the user profile named s, or raerr.ErrInvalidProfile
// (wrapping ca.ErrUnknownProfile). The system profile dsp-xml-signing is
// never returned, so no request can reach it.
func ParseProfile(s string) (ca.Profile, error) {
	p, err := ca.ParseProfile(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", raerr.ErrInvalidProfile, err)
	}
	return p, nil
}

// ExpectedOU returns the subject OU a certificate of profile p for role r
// carries: 87 (xmlSign) for xml-signing, else the role's remote party role.
func ExpectedOU(r role.UserRole, p ca.Profile) string {
	if p == ProfileXMLSigning {
		return role.RPXMLSign.OU()
	}
	return r.DigitalSigningRemotePartyRole().OU()
}
