package ra

import (
	"context"
	"fmt"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// The RA's own identities (the Entity ID of its dSPXmlSign, OU=89, bundle
// and feed signer) are out of reach of every party workflow: no party or
// user may be created with one, and the RA's own certificates are never
// selected by a party's or user's revocation, nor revoked by serial
// through the officer API (issue 12, finding 3).

// reservedID reports whether id is a system identity: DefaultSystemID, or
// the Entity ID of any certificate the CA issued under the RA's own
// profile (an RA configured with another signer ID).
func reservedID(tx store.Tx, id string) (bool, error) {
	if id == ownpki.DefaultSystemID.String() {
		return true, nil
	}
	cs, err := tx.ListCertificates(store.CertFilter{UserID: id})
	if err != nil {
		return false, fmt.Errorf("%w: certificates of %s: %w", ErrInternal, id, err)
	}
	for _, c := range cs {
		if records.IsSystemCert(c) {
			return true, nil
		}
	}
	return false, nil
}

// refuseReserved is the creation check for a party or user ID.
func refuseReserved(tx store.Tx, what, id string) error {
	r, err := reservedID(tx, id)
	if err != nil {
		return err
	}
	if r {
		return fmt.Errorf("%w: %s %s is the RA's own system identity; choose another EUI-64", ErrReservedID, what, id)
	}
	return nil
}

// CheckReservedIDs is the start-up check of an existing store: a party or
// user created with a system identity before it was reserved is refused
// (E_RA_RESERVED_ID naming it), because its officers could reach the RA's
// own certificates. Rename it out of the way before starting this version.
func (s *Service) CheckReservedIDs(ctx context.Context) error {
	return s.st.View(ctx, func(tx store.Tx) error {
		ps, err := tx.ListParties()
		if err != nil {
			return fmt.Errorf("%w: list parties: %w", ErrInternal, err)
		}
		for _, p := range ps {
			if err := refuseReserved(tx, "existing party", p.ID); err != nil {
				return err
			}
		}
		us, err := tx.ListUsers("")
		if err != nil {
			return fmt.Errorf("%w: list users: %w", ErrInternal, err)
		}
		for _, u := range us {
			if err := refuseReserved(tx, "existing user", u.ID); err != nil {
				return err
			}
		}
		return nil
	})
}
