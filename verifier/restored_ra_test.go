package verifier

import (
	"testing"
	"time"

	"github.com/smki/smki/bundle"
)

// TestFollowsARestoredRA: the RA is restored from a backup taken before
// the last feed page this Verifier applied, so its sequences (revocation
// and party status) go back and it numbers anew from the backup's point.
// Its next bundle, newer than that page, moves the follow position back
// to the bundle's, so the restored RA's new revocations and status changes
// are applied as they come, not refused as older or skipped as seen; what
// the old pages revoked stays in force (a revocation is never dropped).
// A bundle built before a page it trails (an answer overtaken by a page)
// moves nothing.
func TestFollowsARestoredRA(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	read := func(t testing.TB, ctr uint64) []byte {
		return sign(t, asSRV(t, request(t, tmplRead, userB, devB, ctr), "4.1.1"), s.b, false)
	}
	revoke := func(id identity, at time.Time) []bundle.RevokedCert {
		return []bundle.RevokedCert{{Issuer: id.cert.Issuer.String(), Serial: id.cert.SerialNumber.Text(16), RevokedAt: at, Reason: 1}}
	}
	b1 := cloneBundle(t, s.bundle) // RevocationSeq 7
	b1.PartySeq = 3
	newV := func(t *testing.T) *Verifier {
		v, err := New(s.options(b1))
		if err != nil {
			t.Fatal(err)
		}
		// Before the backup is restored: the old RA's page 9 revokes A's
		// certificate (a revocation the restore loses) at party_seq 5.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 9, IssuedAt: testNow.Add(-5 * time.Minute), PartySeq: 5,
			Parties: []bundle.Party{{ID: partyA, Status: bundle.StatusFailed}}, Revoked: revoke(s.a, testNow.Add(-5*time.Minute))}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	lostInForce := func(t *testing.T, v *Verifier) {
		t.Helper()
		k := map[certKey]time.Time{}
		if err := addRevoked(k, revoke(s.a, testNow)); err != nil {
			t.Fatal(err)
		}
		for key := range k {
			if _, ok := v.cur.Load().rev.revokedAt([]certKey{key}); !ok {
				t.Fatal("the revocation the restore lost is no longer in force")
			}
		}
	}

	t.Run("restored", func(t *testing.T) {
		t.Parallel()
		v := newV(t)
		// The restored RA's first bundle: built after page 9, at the
		// backup's sequences.
		b2 := cloneBundle(t, b1)
		b2.IssuedAt = testNow.Add(-time.Minute)
		if err := v.SetBundle(b2); err != nil {
			t.Fatal(err)
		}
		if v.RevocationSeq() != 7 || v.PartySeq() != 3 {
			t.Fatalf("after the restored RA's bundle: RevocationSeq %d PartySeq %d, want 7 and 3 (the restored RA's)", v.RevocationSeq(), v.PartySeq())
		}
		lostInForce(t, v)
		mustAccept(t, v, read(t, 1))
		// The restored RA revokes B's certificate (seq 8) and suspends B
		// (party_seq 4): numbers the old RA had used.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 8, IssuedAt: testNow, PartySeq: 4,
			Parties: []bundle.Party{{ID: partyA, Status: bundle.StatusFailed}, {ID: partyB, Status: bundle.StatusSuspended}},
			Revoked: revoke(s.b, testNow.Add(-30*time.Second))}); err != nil {
			t.Fatalf("the restored RA's page: %v", err)
		}
		if d := v.Verify(read(t, 2), testNow); d.Accepted() {
			t.Fatalf("B after the restored RA revoked and suspended it: %+v", d)
		}
		lostInForce(t, v)
	})
	t.Run("bundle overtaken by a page", func(t *testing.T) {
		t.Parallel()
		v := newV(t)
		b2 := cloneBundle(t, b1)
		b2.IssuedAt = testNow.Add(-6 * time.Minute) // built before page 9
		if err := v.SetBundle(b2); err != nil {
			t.Fatal(err)
		}
		if v.RevocationSeq() != 9 || v.PartySeq() != 5 {
			t.Fatalf("RevocationSeq %d PartySeq %d, want 9 and 5 (page 9's)", v.RevocationSeq(), v.PartySeq())
		}
	})
}
