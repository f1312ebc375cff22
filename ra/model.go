package ra

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/internal/input"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

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

var officerIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// checkOfficerID: officer IDs become certificate CNs and directory names,
// so they are short, lower-case and path-safe.
func checkOfficerID(id string) error {
	if !officerIDPattern.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("%w: officer ID %q (want 1-63 of a-z 0-9 . _ -, starting with a letter or digit)", ErrInvalidID, id)
	}
	return nil
}

// CertInfo describes an issued certificate (records.CertInfo).
type CertInfo = records.CertInfo

func certFrom(c store.Certificate, withPEM bool) CertInfo { return records.CertFrom(c, withPEM) }

func checkName(what, name string) error { return input.CheckName(what, name) }

func checkEUI(what string, id eui64.ID) error { return input.CheckEUI(what, id) }
