package ra

import (
	"context"
	"fmt"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// CreateParty records a new active party. Only an ra-operator may.
func (s *Service) CreateParty(ctx context.Context, a Actor, id eui64.ID, name string) (Party, error) {
	if err := checkEUI("party ID", id); err != nil {
		return Party{}, err
	}
	if err := checkName("party", name); err != nil {
		return Party{}, err
	}
	p := store.Party{ID: id.String(), Name: name, Status: store.StatusActive}
	err := s.change(ctx, a, ActCreateParty, "party:"+p.ID, func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActCreateParty, Target{}); err != nil {
			return "", err
		}
		if err := refuseReserved(tx, "party", p.ID); err != nil {
			return "", err
		}
		p.CreatedAt = s.now().UTC()
		if err := tx.CreateParty(p); err != nil {
			return "", raerr.FromStore("party "+p.ID, err)
		}
		return fmt.Sprintf("name=%q", name), nil
	})
	if err != nil {
		return Party{}, err
	}
	return partyFrom(p), nil
}

// CreateUser records a new active User ID of an active party with one
// User Role. Only an ra-operator may.
func (s *Service) CreateUser(ctx context.Context, a Actor, id, partyID eui64.ID, r role.UserRole, name string) (User, error) {
	if err := checkEUI("user ID", id); err != nil {
		return User{}, err
	}
	if err := checkEUI("party ID", partyID); err != nil {
		return User{}, err
	}
	if !r.Valid() {
		return User{}, fmt.Errorf("%w: User Role %q", ErrInvalidRole, r)
	}
	if err := checkName("user", name); err != nil {
		return User{}, err
	}
	u := store.User{ID: id.String(), PartyID: partyID.String(), Role: string(r), Name: name, Status: store.StatusActive}
	err := s.change(ctx, a, ActCreateUser, "user:"+u.ID, func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActCreateUser, Target{PartyID: u.PartyID}); err != nil {
			return "", err
		}
		if err := refuseReserved(tx, "user", u.ID); err != nil {
			return "", err
		}
		if err := activeParty(tx, u.PartyID); err != nil {
			return "", err
		}
		u.CreatedAt = s.now().UTC()
		if err := tx.CreateUser(u); err != nil {
			return "", raerr.FromStore("user "+u.ID, err)
		}
		return fmt.Sprintf("party=%s role=%s name=%q", u.PartyID, u.Role, name), nil
	})
	if err != nil {
		return User{}, err
	}
	return userFrom(u), nil
}

// ListParties returns every party to RA officers, and only their own to
// party officers.
func (s *Service) ListParties(ctx context.Context, a Actor) ([]Party, error) {
	var out []Party
	err := s.read(ctx, a, ActReadParty, "parties", func(tx store.Tx, me store.Officer) error {
		out = nil
		if IsPartyKind(me.Kind) {
			if err := Authorize(me, ActReadParty, Target{PartyID: me.PartyID}); err != nil {
				return err
			}
			p, err := tx.GetParty(me.PartyID)
			if err != nil {
				return raerr.FromStore("party "+me.PartyID, err)
			}
			out = append(out, partyFrom(p))
			return nil
		}
		if err := Authorize(me, ActListAll, Target{}); err != nil {
			return err
		}
		ps, err := tx.ListParties()
		if err != nil {
			return raerr.FromStore("parties", err)
		}
		for _, p := range ps {
			out = append(out, partyFrom(p))
		}
		return nil
	})
	return out, err
}

// GetParty returns one party, if the actor may read it. A party officer
// gets one answer for another party and for none (E_RA_NOT_FOUND, hidden).
func (s *Service) GetParty(ctx context.Context, a Actor, id eui64.ID) (Party, error) {
	var out Party
	err := s.read(ctx, a, ActReadParty, "party:"+id.String(), func(tx store.Tx, me store.Officer) error {
		if err := hidden(me, "party", id.String(), Authorize(me, ActReadParty, Target{PartyID: id.String()})); err != nil {
			return err
		}
		p, err := tx.GetParty(id.String())
		if err != nil {
			return hidden(me, "party", id.String(), raerr.FromStore("party "+id.String(), err))
		}
		out = partyFrom(p)
		return nil
	})
	return out, err
}

// ListUsers returns the users of partyID (zero: all parties, RA officers
// only; party officers always see only their own party's users).
func (s *Service) ListUsers(ctx context.Context, a Actor, partyID eui64.ID) ([]User, error) {
	var out []User
	subject := "users"
	if !partyID.IsZero() {
		subject = "users:party:" + partyID.String()
	}
	err := s.read(ctx, a, ActReadParty, subject, func(tx store.Tx, me store.Officer) error {
		out = nil
		pid := ""
		if !partyID.IsZero() {
			pid = partyID.String()
		}
		pid = partyScope(me, pid)
		if err := authorizeRead(me, pid); err != nil {
			return err
		}
		us, err := tx.ListUsers(pid)
		if err != nil {
			return raerr.FromStore("users", err)
		}
		for _, u := range us {
			out = append(out, userFrom(u))
		}
		return nil
	})
	return out, err
}

// partyScope is the party a list reads for me: pid as asked, or, for a
// party officer who named none, their own party. To them an unscoped
// list means "mine", never "everyone's" (which they may not read), as
// smki certs, user list and officer list are used by an SRP's officers.
func partyScope(me store.Officer, pid string) string {
	if pid == "" && IsPartyKind(me.Kind) {
		return me.PartyID
	}
	return pid
}

// authorizeRead: pid "" means across parties (RA officers only).
func authorizeRead(me store.Officer, pid string) error {
	if pid == "" {
		return Authorize(me, ActListAll, Target{})
	}
	return Authorize(me, ActReadParty, Target{PartyID: pid})
}

// activeParty fails unless the party exists and is active
// (records.ActiveParty).
func activeParty(tx store.Tx, id string) error { return records.ActiveParty(tx, id) }
