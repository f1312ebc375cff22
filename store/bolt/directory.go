package bolt

import (
	"fmt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// GetCRL returns the latest CRL named name, or ErrNotFound.
func (t *tx) GetCRL(name string) (store.CRL, error) {
	var c store.CRL
	if err := t.read(); err != nil {
		return c, err
	}
	err := t.get(bCRLs, name, "CRL", &c)
	return c, err
}

// PutCRL replaces the CRL stored under c.Name.
func (t *tx) PutCRL(c store.CRL) error {
	if err := t.write("put CRL"); err != nil {
		return err
	}
	c, err := check.CRL(c)
	if err != nil {
		return fmt.Errorf("bolt: put CRL: %w", err)
	}
	return t.put(bCRLs, []byte(c.Name), c)
}

// create inserts v under id, failing with ErrExists; replace overwrites
// an existing record, failing with ErrNotFound. Parties, users and
// officers share them.
func (t *tx) create(bucket []byte, what, id string, v any) error {
	if t.bucket(bucket).Get([]byte(id)) != nil {
		return fmt.Errorf("bolt: create %s %q: %w", what, id, store.ErrExists)
	}
	return t.put(bucket, []byte(id), v)
}

func (t *tx) replace(bucket []byte, what, id string, v any) error {
	if t.bucket(bucket).Get([]byte(id)) == nil {
		return fmt.Errorf("bolt: update %s %q: %w", what, id, store.ErrNotFound)
	}
	return t.put(bucket, []byte(id), v)
}

// list decodes every record of bucket, in ID order, keeping those keep
// accepts. Parties, users and officers are few (hundreds), so a scan is
// cheaper than maintaining an index on every write.
func list[T any](t *tx, bucket []byte, keep func(T) bool) ([]T, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	var out []T
	err := t.bucket(bucket).ForEach(func(k, v []byte) error {
		var r T
		if err := decode(v, &r); err != nil {
			return fmt.Errorf("bolt: %s %q: %w", bucket, k, err)
		}
		if keep(r) {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// CreateParty inserts p (ErrExists).
func (t *tx) CreateParty(p store.Party) error {
	if err := t.write("create party"); err != nil {
		return err
	}
	p, err := check.Party(p)
	if err != nil {
		return fmt.Errorf("bolt: create party: %w", err)
	}
	return t.create(bParties, "party", p.ID, p)
}

// GetParty returns the party id, or ErrNotFound.
func (t *tx) GetParty(id string) (store.Party, error) {
	var p store.Party
	if err := t.read(); err != nil {
		return p, err
	}
	err := t.get(bParties, id, "party", &p)
	return p, err
}

// PutParty replaces an existing party (ErrNotFound).
func (t *tx) PutParty(p store.Party) error {
	if err := t.write("put party"); err != nil {
		return err
	}
	p, err := check.Party(p)
	if err != nil {
		return fmt.Errorf("bolt: put party: %w", err)
	}
	return t.replace(bParties, "party", p.ID, p)
}

// ListParties returns every party, by ID.
func (t *tx) ListParties() ([]store.Party, error) {
	return list(t, bParties, func(store.Party) bool { return true })
}

// CreateUser inserts u (ErrExists).
func (t *tx) CreateUser(u store.User) error {
	if err := t.write("create user"); err != nil {
		return err
	}
	u, err := check.User(u)
	if err != nil {
		return fmt.Errorf("bolt: create user: %w", err)
	}
	return t.create(bUsers, "user", u.ID, u)
}

// GetUser returns the user id, or ErrNotFound.
func (t *tx) GetUser(id string) (store.User, error) {
	var u store.User
	if err := t.read(); err != nil {
		return u, err
	}
	err := t.get(bUsers, id, "user", &u)
	return u, err
}

// PutUser replaces an existing user (ErrNotFound).
func (t *tx) PutUser(u store.User) error {
	if err := t.write("put user"); err != nil {
		return err
	}
	u, err := check.User(u)
	if err != nil {
		return fmt.Errorf("bolt: put user: %w", err)
	}
	return t.replace(bUsers, "user", u.ID, u)
}

// ListUsers returns the users of partyID ("" for all), by ID.
func (t *tx) ListUsers(partyID string) ([]store.User, error) {
	return list(t, bUsers, func(u store.User) bool { return partyID == "" || u.PartyID == partyID })
}

// CreateOfficer inserts o (ErrExists).
func (t *tx) CreateOfficer(o store.Officer) error {
	if err := t.write("create officer"); err != nil {
		return err
	}
	o, err := check.Officer(o)
	if err != nil {
		return fmt.Errorf("bolt: create officer: %w", err)
	}
	return t.create(bOfficers, "officer", o.ID, o)
}

// GetOfficer returns the officer id, or ErrNotFound.
func (t *tx) GetOfficer(id string) (store.Officer, error) {
	var o store.Officer
	if err := t.read(); err != nil {
		return o, err
	}
	err := t.get(bOfficers, id, "officer", &o)
	return o, err
}

// PutOfficer replaces an existing officer (ErrNotFound).
func (t *tx) PutOfficer(o store.Officer) error {
	if err := t.write("put officer"); err != nil {
		return err
	}
	o, err := check.Officer(o)
	if err != nil {
		return fmt.Errorf("bolt: put officer: %w", err)
	}
	return t.replace(bOfficers, "officer", o.ID, o)
}

// ListOfficers returns the officers of partyID ("" for all), by ID.
func (t *tx) ListOfficers(partyID string) ([]store.Officer, error) {
	return list(t, bOfficers, func(o store.Officer) bool { return partyID == "" || o.PartyID == partyID })
}
