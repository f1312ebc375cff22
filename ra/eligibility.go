package ra

import (
	"crypto"
	"crypto/x509"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/eligibility"
	"github.com/smki/smki/role"
)

// Short names for the user certificate profiles ca/ defines.
const (
	ProfileXMLSigning     = eligibility.ProfileXMLSigning
	ProfileDigitalSigning = eligibility.ProfileDigitalSigning
	ProfileKeyAgreement   = eligibility.ProfileKeyAgreement
)

// EligibleProfiles is eligibility.EligibleProfiles: the profiles r may hold.
func EligibleProfiles(r role.UserRole) []ca.Profile { return eligibility.EligibleProfiles(r) }

// Eligible is eligibility.Eligible: nil if role r may hold profile p.
func Eligible(r role.UserRole, p ca.Profile) error { return eligibility.Eligible(r, p) }

// ParseProfile is eligibility.ParseProfile: the user profile named s.
func ParseProfile(s string) (ca.Profile, error) { return eligibility.ParseProfile(s) }

// ExpectedOU is eligibility.ExpectedOU: the subject OU of profile p for role r.
func ExpectedOU(r role.UserRole, p ca.Profile) string { return eligibility.ExpectedOU(r, p) }

// CheckCSRUserID is eligibility.CheckCSRUserID: nil if csr's subject
// names User ID id, else the E_RA_CSR_MISMATCH the RA would answer.
func CheckCSRUserID(csr *x509.CertificateRequest, id eui64.ID, p ca.Profile) error {
	return eligibility.CheckCSRUserID(csr, id, p)
}

// NewCSR is eligibility.NewCSR: a PEM CSR with the subject the RA expects.
func NewCSR(key crypto.Signer, id eui64.ID, r role.UserRole, p ca.Profile, commonName string) ([]byte, error) {
	return eligibility.NewCSR(key, id, r, p, commonName)
}
