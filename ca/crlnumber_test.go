package ca

import (
	"context"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestCRLNumberNeverGoesBackAfterRestore: a store restored from a backup
// holds an older ORL; the next ORL the CA issues must still carry a
// number above every ORL published before the restore (RFC 5280 5.2.3:
// CRL numbers only increase; a relying party keeping the highest number
// it has seen would otherwise ignore the restored CA's CRLs). The number
// is at least the issue time in nanoseconds, and above the stored one.
func TestCRLNumberNeverGoesBackAfterRestore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	backup := storedCRL(t, e.st, ORL) // the ORL a backup taken now holds
	var published uint64
	for i := range 5 { // revocations after the backup, each a new ORL
		_, csr := newCSR(t, nil)
		c, _, err := e.ca.Issue(ctx, issueReq(csr, DigitalSigning, eui64.ID{1, 2, 3, 4, 5, 6, 8, byte(i + 1)}, partySupA, role.ImportSupplier))
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		if _, err := e.ca.Revoke(ctx, []string{SerialHex(c.SerialNumber)}, 1, time.Time{}); err != nil {
			t.Fatal(err)
		}
		published = max(published, storedCRL(t, e.st, ORL).Number)
	}
	// The restore: the backup's ORL is back in the store.
	if err := e.st.Update(ctx, func(tx store.Tx) error { return tx.PutCRL(backup) }); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute) // the restored RA starts later
	if err := e.st.Update(ctx, func(tx store.Tx) error { _, err := e.ca.IssueORLTx(tx); return err }); err != nil {
		t.Fatal(err)
	}
	if got := storedCRL(t, e.st, ORL).Number; got <= published {
		t.Fatalf("ORL number after the restore %d, want above %d, the highest published before it (the backup's was %d)", got, published, backup.Number)
	}
}
