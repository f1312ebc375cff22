package ra

import (
	"errors"
	"testing"
)

func TestOfficerRequestVerifierKind(t *testing.T) {
	t.Parallel()
	if _, err := (OfficerRequest{ID: "v1", Name: "Verifier", Kind: KindVerifier}).check(); err != nil {
		t.Fatal(err)
	}
	_, err := (OfficerRequest{ID: "v1", Name: "Verifier", Kind: KindVerifier, PartyID: [8]byte{1}}).check()
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("verifier with a party: %v", err)
	}
}
