package ra

import (
	"errors"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
)

// TestOfficerRequestRefusalsSayWhatToGive: the refusals of a malformed
// appointment name what to give: the officer kinds there are (an RA
// operator typing --kind SRO), --party for an SRO or ARO without one,
// and to leave it out for the RA's own kinds.
func TestOfficerRequestRefusalsSayWhatToGive(t *testing.T) {
	t.Parallel()
	party := eui64.MustParse("90-B3-D5-1F-30-00-00-5C")
	for _, tc := range []struct {
		name string
		req  OfficerRequest
		code error
		want string
	}{
		{"kind in capitals", OfficerRequest{ID: "srp1-sro", Name: "Sam Roe", Kind: "SRO", PartyID: party}, ErrInvalidRole,
			"want one of sro, aro, ra-operator, ra-approver, authority-liaison, verifier"},
		{"sro without a party", OfficerRequest{ID: "srp1-sro", Name: "Sam Roe", Kind: KindSRO}, ErrBadRequest, "--party"},
		{"ra-operator with a party", OfficerRequest{ID: "op2", Name: "Op", Kind: KindRAOperator, PartyID: party}, ErrBadRequest, "leave out party_id"},
	} {
		_, err := checkOfficerRequest(tc.req)
		if !errors.Is(err, tc.code) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.code, tc.want)
		}
	}
}
