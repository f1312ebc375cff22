package records

import (
	"encoding/base64"
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

// PEMCert is der as a PEM CERTIFICATE block, the bytes
// pem.EncodeToMemory writes (64 base64 characters a line), built in one
// buffer of its final size (issue 20: every enrolment answers one).
func PEMCert(der []byte) []byte {
	const begin, end = "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n"
	n := base64.StdEncoding.EncodedLen(len(der))
	out := make([]byte, 0, len(begin)+n+(n+pemLine-1)/pemLine+len(end))
	out = append(out, begin...)
	for len(der) > 0 {
		chunk := der[:min(len(der), pemLine/4*3)]
		der = der[len(chunk):]
		out = base64.StdEncoding.AppendEncode(out, chunk)
		out = append(out, '\n')
	}
	return append(out, end...)
}

// pemLine is the length of a PEM body line, as encoding/pem writes it.
const pemLine = 64
