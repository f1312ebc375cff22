package ra

import (
	"context"
	"testing"
)

// TestRefusalChainedAfterEarlierReads: an audited read's "allowed" record
// goes through the store's batched journal and reaches the audit chain
// when the journal is sealed (every 100 ms on bbolt); a refusal after it
// is chained after it, whenever the seal runs. Before, a seal between the
// refusal and the next reader put the earlier read after the refusal
// (TestImportDevices failed so once in CI: "last device.read audit entry
// "allowed" does not record E_RA_FORBIDDEN").
func TestRefusalChainedAfterEarlierReads(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	for range 3 {
		if _, err := s.svc.ListDevices(ctx, s.aroSup, s.userIS); err != nil {
			t.Fatal(err)
		}
		_, err := s.svc.ListDevices(ctx, s.aroSup, s.userIS2)
		// What the sealer does on its own, at a moment the test cannot
		// choose: here, right after the refusal.
		if serr := s.st.SealAudit(ctx); serr != nil {
			t.Fatal(serr)
		}
		s.wantHidden(err, ActReadDevices)
	}
}
