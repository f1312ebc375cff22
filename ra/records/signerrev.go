package records

import "time"

// States of a signer revocation request.
const (
	SignerRevocationRequested = "requested"
	SignerRevocationRevoked   = "revoked"
)

// SignerRevocation is a request to revoke one of the RA's own certificates.
type SignerRevocation struct {
	ID          string     `json:"id"`
	Serial      string     `json:"serial"`
	Reason      int        `json:"reason"`
	State       string     `json:"state"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	ApprovedBy  string     `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time `json:"approved_at,omitempty"`
	// NewSigner is the serial of the signer the approval rotated in, when
	// the certificate revoked was the one this RA was signing with.
	NewSigner string `json:"new_signer,omitempty"`
}
