package authz

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// TestHiddenAndUnseen: a party officer is told "not there" for a record it
// may not see, whether absent or another party's, and the real refusal
// stays for the audit (raerr.Real); officers of no party, and refusals of
// another kind, pass unchanged.
func TestHiddenAndUnseen(t *testing.T) {
	t.Parallel()
	const pA, pB = "90-B3-D5-1F-30-00-00-01", "90-B3-D5-1F-30-00-00-02"
	sroA := store.Officer{ID: "sro", Kind: KindSRO, PartyID: pA, Status: store.StatusActive}
	aroA := store.Officer{ID: "aro", Kind: KindARO, PartyID: pA, Status: store.StatusActive}
	op := store.Officer{ID: "op", Kind: KindRAOperator, Status: store.StatusActive}
	ver := store.Officer{ID: "ver", Kind: KindVerifier, Status: store.StatusActive}
	forbidden := fmt.Errorf("%w: may not", raerr.ErrForbidden)
	absent := fmt.Errorf("%w: no such", raerr.ErrNotFound)
	storeAbsent := fmt.Errorf("bolt: %w", store.ErrNotFound)
	bad := fmt.Errorf("%w: malformed", raerr.ErrBadRequest)
	for _, tc := range []struct {
		name   string
		got    error
		hidden bool  // the caller is told "no officer x among your party's"
		real   error // what the audit keeps (hidden only)
		same   error // not hidden: the error itself
	}{
		{"party officer, refused", Hidden(sroA, "officer", "x", forbidden), true, forbidden, nil},
		{"party officer, absent", Hidden(aroA, "officer", "x", absent), true, absent, nil},
		{"party officer, absent in the store", Hidden(aroA, "officer", "x", storeAbsent), true, storeAbsent, nil},
		{"party officer, another refusal", Hidden(sroA, "officer", "x", bad), false, nil, bad},
		{"party officer, nothing refused", Hidden(sroA, "officer", "x", nil), false, nil, nil},
		{"RA officer", Hidden(op, "officer", "x", forbidden), false, nil, forbidden},
		{"verifier", Hidden(ver, "officer", "x", absent), false, nil, absent},
		{"another party's record", Unseen(sroA, ActReadParty, pB, "officer", "x"), true, nil, nil},
		{"an RA-level record", Unseen(aroA, ActReadParty, "", "officer", "x"), true, nil, nil},
		{"an SoLR event of another SRP", Unseen(aroA, ActReadSoLR, pB, "officer", "x"), true, nil, nil},
		{"own party's record", Unseen(aroA, ActReadParty, pA, "officer", "x"), false, nil, nil},
		{"RA officer, any party's record", Unseen(op, ActReadParty, pB, "officer", "x"), false, nil, nil},
		{"verifier, any record", Unseen(ver, ActReadParty, pB, "officer", "x"), false, nil, nil},
	} {
		if !tc.hidden {
			if tc.got != tc.same {
				t.Errorf("%s: %v, want %v unchanged", tc.name, tc.got, tc.same)
			}
			continue
		}
		if raerr.CodeOf(tc.got) != raerr.ErrNotFound.Error() || errors.Is(tc.got, raerr.ErrForbidden) ||
			tc.got.Error() != "E_RA_NOT_FOUND: no officer x among your party's; check the ID (smki officer list lists your party's)" {
			t.Errorf("%s: %q (code %s), want the one not-found answer", tc.name, tc.got, raerr.CodeOf(tc.got))
		}
		real := raerr.Real(fmt.Errorf("wrapped: %w", tc.got))
		if tc.real != nil && real != tc.real {
			t.Errorf("%s: audit keeps %v, want %v", tc.name, real, tc.real)
		}
		if tc.real == nil && (real == nil || !errors.Is(real, raerr.ErrForbidden) || !strings.Contains(real.Error(), "may not")) {
			t.Errorf("%s: audit keeps %v, want the read refusal", tc.name, real)
		}
	}
}
