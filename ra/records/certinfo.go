package records

import (
	"encoding/pem"
	"time"

	"github.com/smki/smki/store"
)

// CertInfo describes an issued certificate as the API shows it (PEM only where asked for).
type CertInfo struct {
	Serial    string     `json:"serial"`
	UserID    string     `json:"user_id"`
	PartyID   string     `json:"party_id"`
	Profile   string     `json:"profile"`
	Role      string     `json:"role"`
	Status    string     `json:"status"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    *int       `json:"reason,omitempty"`
	PEM       string     `json:"pem,omitempty"`
}

// CertFrom is c as the API shows it, with its PEM if withPEM.
func CertFrom(c store.Certificate, withPEM bool) CertInfo {
	ci := CertInfo{Serial: c.Serial, UserID: c.UserID, PartyID: c.PartyID, Profile: c.Profile, Role: c.Role,
		Status: string(c.Status), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
	if c.Status == store.StatusRevoked {
		at, r := c.RevokedAt, c.Reason
		ci.RevokedAt, ci.Reason = &at, &r
	}
	if withPEM {
		ci.PEM = string(PEMCert(c.DER))
	}
	return ci
}

// PEMCert is der as a PEM CERTIFICATE block.
func PEMCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
