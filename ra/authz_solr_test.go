package ra

import (
	"errors"
	"testing"
)

func TestOfficerRequestVerifierKind(t *testing.T) {
	t.Parallel()
	if _, err := checkOfficerRequest(OfficerRequest{ID: "v1", Name: "Verifier", Kind: KindVerifier}); err != nil {
		t.Fatal(err)
	}
	_, err := checkOfficerRequest(OfficerRequest{ID: "v1", Name: "Verifier", Kind: KindVerifier, PartyID: [8]byte{1}})
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("verifier with a party: %v", err)
	}
}
