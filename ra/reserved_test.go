package ra

import (
	"context"
	"errors"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestFinding3SystemIdentityOutOfReach is issue 12's finding 3: the RA's
// own bundle and feed signer (OU=89) is stored under ownpki.DefaultSystemID,
// which an RA operator could give to a party or user, and revoke-by-user
// selected every certificate of that user ID whatever its party. System
// identities are refused at creation and by the start-up check of an
// existing store; revoke-by-user selects by user and party; the RA's own
// certificate is not revocable through the officer API.
func TestFinding3SystemIdentityOutOfReach(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	sig := s.withSigner()
	sysSerial := ca.SerialHex(sig.Chain()[0].SerialNumber)

	if _, err := s.svc.CreateParty(ctx, s.admin, ownpki.DefaultSystemID, "the RA, again"); !errors.Is(err, ErrReservedID) {
		t.Errorf("party with the system ID: %v, want %v", err, ErrReservedID)
	}
	if _, err := s.svc.CreateUser(ctx, s.admin, ownpki.DefaultSystemID, s.supplier, role.ImportSupplier, "the RA, again"); !errors.Is(err, ErrReservedID) {
		t.Errorf("user with the system ID: %v, want %v", err, ErrReservedID)
	}
	if _, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{Serial: sysSerial, Reason: 1}); !errors.Is(err, ErrForbidden) {
		t.Errorf("operator revoking the RA's signer by serial: %v, want %v", err, ErrForbidden)
	}

	// A store from before the reservation: supplier A has a user with the
	// system ID. Its SRO revokes "that user": the RA's signer is not theirs.
	if err := s.st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateUser(store.User{ID: ownpki.DefaultSystemID.String(), PartyID: s.supplier.String(), Role: string(role.ImportSupplier),
			Name: "legacy", Status: store.StatusActive, CreatedAt: s.clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	res, err := s.svc.Revoke(ctx, s.sroSup, RevokeRequest{UserID: ownpki.DefaultSystemID, Reason: 1, Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Certificates) != 0 {
		t.Errorf("revoke-by-user of the legacy user selected %d certificates: %+v", len(res.Certificates), res.Certificates)
	}
	if c := s.certStatus(sysSerial); c.Status != store.StatusGood {
		t.Fatalf("the RA's signer is %s", c.Status)
	}
	if err := s.svc.CheckReservedIDs(ctx); !errors.Is(err, ErrReservedID) {
		t.Errorf("start-up check of a store with a reserved user: %v, want %v", err, ErrReservedID)
	}
}
