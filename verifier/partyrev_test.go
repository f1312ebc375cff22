package verifier

import (
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
)

// TestPartyRevocation: one party-wide record (bundle or feed page) refuses
// REVOKED every certificate of the party issued before its issued_before,
// for requests at or after its revoked_at; it touches no other party and
// no later certificate, and a later page or bundle without it never drops
// it (fail closed).
func TestPartyRevocation(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	nb := s.b.cert.NotBefore
	read := func(t testing.TB, ctr uint64) []byte {
		return sign(t, asSRV(t, request(t, tmplRead, userB, devB, ctr), "4.1.1"), s.b, false)
	}
	rec := func(party string, issuedBefore, revokedAt time.Time) bundle.PartyRevocation {
		r := bundle.PartyRevocation{IssuedBefore: issuedBefore, RevokedAt: revokedAt, Reason: 5}
		switch party {
		case "A":
			r.Party = partyA
		case "B":
			r.Party = partyB
		}
		return r
	}
	at := testNow.Add(time.Minute)
	for _, tc := range []struct {
		name     string
		rec      bundle.PartyRevocation
		inBundle bool
		at       time.Time
		want     string // "" accept
	}{
		{"feed: the party's certificate", rec("B", nb.Add(time.Second), testNow), false, at, CodeREVOKED},
		{"bundle: the party's certificate", rec("B", nb.Add(time.Second), testNow), true, at, CodeREVOKED},
		{"feed: request before revoked_at", rec("B", nb.Add(time.Second), at.Add(time.Second)), false, at, ""},
		{"feed: certificate issued at issued_before", rec("B", nb, testNow), false, at, ""},
		{"feed: another party", rec("A", nb.Add(time.Hour), testNow), false, at, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := cloneBundle(t, s.bundle)
			if tc.inBundle {
				b.RevokedParties = []bundle.PartyRevocation{tc.rec}
			}
			v, err := New(s.options(b))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.inBundle {
				if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow, RevokedParties: []bundle.PartyRevocation{tc.rec}}); err != nil {
					t.Fatal(err)
				}
			}
			d := v.Verify(read(t, 1), tc.at)
			if d.Code != tc.want || (tc.want == "") != d.Accepted() {
				t.Fatalf("Verify = %+v, want %q", d, tc.want)
			}
		})
	}
	t.Run("never dropped", func(t *testing.T) {
		t.Parallel()
		v, err := New(s.options(cloneBundle(t, s.bundle)))
		if err != nil {
			t.Fatal(err)
		}
		mustAccept(t, v, read(t, 1))
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow,
			RevokedParties: []bundle.PartyRevocation{rec("B", nb.Add(time.Second), testNow)}}); err != nil {
			t.Fatal(err)
		}
		// A later page without the record, and a newer bundle without it.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 8, IssuedAt: testNow}); err != nil {
			t.Fatal(err)
		}
		b2 := cloneBundle(t, s.bundle)
		b2.IssuedAt = b2.IssuedAt.Add(time.Second)
		if err := v.SetBundle(b2); err != nil {
			t.Fatal(err)
		}
		if d := v.Verify(read(t, 2), at); d.Code != CodeREVOKED {
			t.Fatalf("after a page and a bundle without the record: %+v, want REVOKED", d)
		}
	})
	t.Run("invalid record refused", func(t *testing.T) {
		t.Parallel()
		v, err := New(s.options(cloneBundle(t, s.bundle)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []bundle.PartyRevocation{
			{IssuedBefore: testNow, RevokedAt: testNow, Reason: 5},
			{Party: partyB, RevokedAt: testNow, Reason: 5},
			{Party: partyB, IssuedBefore: testNow, RevokedAt: testNow, Reason: 7},
		} {
			err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow, RevokedParties: []bundle.PartyRevocation{r}})
			if !errors.Is(err, bundle.ErrFeedInvalid) {
				t.Fatalf("%+v: %v, want E_FEED_INVALID", r, err)
			}
		}
		mustAccept(t, v, read(t, 1))
	})
}
