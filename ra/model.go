package ra

import (
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// Party is a SEC Party as the API shows it.
type Party struct {
	ID        eui64.ID  `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a User ID: an EUI-64 bound to one party and one User Role.
type User struct {
	ID        eui64.ID      `json:"id"`
	PartyID   eui64.ID      `json:"party_id"`
	Role      role.UserRole `json:"role"`
	Name      string        `json:"name"`
	Status    string        `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
}

// Officer is a person who acts for a party (sro, aro) or for the RA
// (ra-operator, ra-approver, authority-liaison). PartyID is "" for RA officers.
type Officer struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	PartyID     string    `json:"party_id,omitempty"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"`
	CertSerial  string    `json:"cert_serial"`
	AppointedBy string    `json:"appointed_by"`
	CreatedAt   time.Time `json:"created_at"`
	// CredentialExpires is when the officer's current credential expires
	// (absent for officers appointed before smki recorded it).
	CredentialExpires *time.Time `json:"credential_expires,omitempty"`
}

// CertInfo describes an issued certificate (PEM only where asked for).
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

func partyFrom(p store.Party) Party {
	id, _ := eui64.Parse(p.ID)
	return Party{ID: id, Name: p.Name, Status: p.Status, CreatedAt: p.CreatedAt}
}

func userFrom(u store.User) User {
	id, _ := eui64.Parse(u.ID)
	pid, _ := eui64.Parse(u.PartyID)
	return User{ID: id, PartyID: pid, Role: role.UserRole(u.Role), Name: u.Name, Status: u.Status, CreatedAt: u.CreatedAt}
}

func officerFrom(o store.Officer) Officer {
	out := Officer{ID: o.ID, Name: o.Name, PartyID: o.PartyID, Kind: o.Kind, Status: o.Status,
		CertSerial: o.CertSerial, AppointedBy: o.AppointedBy, CreatedAt: o.CreatedAt}
	if !o.CertNotAfter.IsZero() {
		at := o.CertNotAfter
		out.CredentialExpires = &at
	}
	return out
}

func certFrom(c store.Certificate, withPEM bool) CertInfo {
	ci := CertInfo{Serial: c.Serial, UserID: c.UserID, PartyID: c.PartyID, Profile: c.Profile, Role: c.Role,
		Status: string(c.Status), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
	if c.Status == store.StatusRevoked {
		at, r := c.RevokedAt, c.Reason
		ci.RevokedAt, ci.Reason = &at, &r
	}
	if withPEM {
		ci.PEM = string(pemCert(c.DER))
	}
	return ci
}

var officerIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// checkOfficerID: officer IDs become certificate CNs and directory names,
// so they are short, lower-case and path-safe.
func checkOfficerID(id string) error {
	if !officerIDPattern.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("%w: officer ID %q (want 1-63 of a-z 0-9 . _ -, starting with a letter or digit)", ErrInvalidID, id)
	}
	return nil
}

// checkName: display names are free text, but bounded and printable.
// Besides C0 controls and DEL it refuses C1 controls (NEL), format
// characters (bidi overrides such as U+202E, zero-width characters) and
// line/paragraph separators: they let a name display as something else in
// a listing or an audit review (h14).
func checkName(what, name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 200 || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool {
			return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
		}) {
		return fmt.Errorf("%w: %s name must be 1-200 printable characters", ErrBadRequest, what)
	}
	return nil
}

func checkEUI(what string, id eui64.ID) error {
	if id.IsZero() {
		return fmt.Errorf("%w: %s is missing or all zero", ErrInvalidID, what)
	}
	return nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
