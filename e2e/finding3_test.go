package e2e

import (
	"testing"
)

// TestFinding3SystemIDReserved is issue 12's finding 3 on the real binary:
// the EUI-64 under which the RA's own bundle and feed signer is stored
// (90-B3-D5-1F-30-00-00-02) could be given to a party or a user, whose
// officers could then revoke the signer. Both are refused, coded.
func TestFinding3SystemIDReserved(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	const system, party = "90-B3-D5-1F-30-00-00-02", "90-B3-D5-1F-30-00-00-0A"
	ra.refused("E_RA_RESERVED_ID", "party", "create", "--id", system, "--name", "not-the-ra")
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.refused("E_RA_RESERVED_ID", "user", "create", "--id", system, "--party", party, "--role", "IS", "--name", "not-the-ra")
}
