package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// RunRevokeMany runs only the RevokeMany part of the suite (Run includes
// it), for engines that test it again with other batch settings.
func RunRevokeMany(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range revokeManyTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var revokeManyTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"RevokeMany", testRevokeMany},
	{"RevokeManyRefusals", testRevokeManyRefusals},
	{"ConcurrentRevokeMany", testConcurrentRevokeMany},
	{"RevokeManyRace", testRevokeManyRace},
}

func revocationOf(c store.Certificate, seq uint64, reason int, at time.Time) store.Revocation {
	return store.Revocation{Seq: seq, Serial: c.Serial, Issuer: c.Issuer, UserID: c.UserID, PartyID: c.PartyID, Reason: reason, RevokedAt: at}
}

// putCerts stores n certificates of one new party and returns them.
func putCerts(t *testing.T, s store.Store, n int) []store.Certificate {
	party := eui()
	cs := make([]store.Certificate, n)
	for i := range cs {
		cs[i] = cert(randSerial(t), eui(), party)
	}
	update(t, s, func(tx store.Tx) error {
		for _, c := range cs {
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	})
	return cs
}

// These tests report failures inside Update callbacks as errors, not with
// t.Fatal: an engine may run the callback on another goroutine (bbolt's
// group commit), where t.Fatal would leave Update waiting for ever.

// refusal describes how err fails to wrap code and a *store.SerialError
// naming serial, or returns nil.
func refusal(what string, err, code error, serial string) error {
	var se *store.SerialError
	if !errors.Is(err, code) || !errors.As(err, &se) || se.Serial != serial {
		return fmt.Errorf("%s: got error %v, want %v naming serial %s", what, err, code, serial)
	}
	return nil
}

// differ is same for use inside a callback.
func differ(what string, got, want any) error {
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		return fmt.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	return nil
}

// testRevokeMany: order and consecutive numbers, in one transaction with
// single Revokes before and after, and what readers then see.
func testRevokeMany(t *testing.T, s store.Store) {
	cs := putCerts(t, s, 10)
	at := base.Add(2 * time.Hour)
	view(t, s, func(tx store.Tx) error {
		_, err := tx.RevokeMany([]string{cs[0].Serial}, 1, at)
		wantErr(t, "RevokeMany in a View", err, store.ErrReadOnly)
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		for _, list := range [][]string{nil, {}} {
			rs, err := tx.RevokeMany(list, 1, at)
			if err != nil || len(rs) != 0 {
				return fmt.Errorf("RevokeMany(%v) = %v, %v; want nothing", list, rs, err)
			}
		}
		return nil
	})
	var got []store.Revocation
	update(t, s, func(tx store.Tx) error {
		got = got[:0]
		r, err := tx.Revoke(cs[0].Serial, 1, at)
		if err != nil {
			return err
		}
		got = append(got, r)
		rs, err := tx.RevokeMany([]string{cs[3].Serial, cs[1].Serial, cs[2].Serial}, 5, at)
		if err != nil {
			return err
		}
		got = append(got, rs...)
		// Refused for a serial this transaction revoked: it goes on, and
		// the refused call took no sequence number.
		_, err = tx.RevokeMany([]string{cs[4].Serial, cs[0].Serial}, 5, at)
		if err := refusal("RevokeMany of a serial revoked earlier in the transaction", err, store.ErrAlreadyRevoked, cs[0].Serial); err != nil {
			return err
		}
		r, err = tx.Revoke(cs[4].Serial, 4, at)
		got = append(got, r)
		return err
	})
	want := []store.Revocation{
		revocationOf(cs[0], 1, 1, at), revocationOf(cs[3], 2, 5, at), revocationOf(cs[1], 3, 5, at),
		revocationOf(cs[2], 4, 5, at), revocationOf(cs[4], 5, 4, at),
	}
	same(t, "revocations", got, want)

	// The next transaction numbers on, across several engine batches
	// when the engine is tested with small ones.
	order := []store.Certificate{cs[9], cs[5], cs[8], cs[6], cs[7]}
	for i, c := range order {
		want = append(want, revocationOf(c, uint64(6+i), 9, at))
	}
	update(t, s, func(tx store.Tx) error {
		rs, err := tx.RevokeMany(serials(order), 9, at)
		if err != nil {
			return err
		}
		return differ("second RevokeMany", rs, want[5:])
	})

	view(t, s, func(tx store.Tx) error {
		seq, err := tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		if seq != 10 {
			t.Fatalf("RevocationSeq = %d, want 10", seq)
		}
		for _, tc := range []struct {
			since uint64
			limit int
			want  []store.Revocation
		}{{0, 0, want}, {2, 2, want[2:4]}, {5, 0, want[5:]}, {10, 0, nil}} {
			rs, err := tx.RevocationsSince(tc.since, tc.limit)
			noErr(t, "RevocationsSince", err)
			same(t, "RevocationsSince", rs, tc.want)
		}
		for _, r := range want {
			c, err := tx.GetCertificate(r.Serial)
			noErr(t, "GetCertificate", err)
			if c.Status != store.StatusRevoked || c.RevocationSeq != r.Seq || c.Reason != r.Reason || !c.RevokedAt.Equal(at) {
				t.Fatalf("certificate %s after RevokeMany: %+v, want revoked as %+v", c.Serial, c, r)
			}
		}
		good, err := tx.ListCertificates(store.CertFilter{PartyID: cs[0].PartyID, Status: store.StatusGood})
		noErr(t, "ListCertificates good", err)
		revoked, err := tx.ListCertificates(store.CertFilter{PartyID: cs[0].PartyID, Status: store.StatusRevoked})
		noErr(t, "ListCertificates revoked", err)
		if len(good) != 0 || len(revoked) != len(cs) {
			t.Fatalf("status index: %d good, %d revoked; want 0, %d", len(good), len(revoked), len(cs))
		}
		return nil
	})
}

// testRevokeManyRefusals: a list with an unknown, revoked, repeated or
// malformed serial fails naming the first offender in list order and
// writes nothing, even when the transaction then commits; the next call
// numbers on as if the refused one had not happened.
func testRevokeManyRefusals(t *testing.T, s store.Store) {
	cs := putCerts(t, s, 6)
	at := base.Add(3 * time.Hour)
	revoked := cs[0].Serial
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Revoke(revoked, 1, at)
		return err
	})
	g1, g2, g3, g4 := cs[1].Serial, cs[2].Serial, cs[3].Serial, cs[4].Serial
	unknown := randSerial(t)
	cases := []struct {
		name    string
		serials []string
		reason  int
		at      time.Time
		code    error
		serial  string
	}{
		{"unknown", []string{g1, unknown, g2}, 5, at, store.ErrNotFound, unknown},
		{"revoked", []string{g1, revoked}, 5, at, store.ErrAlreadyRevoked, revoked},
		{"listed twice", []string{g1, g2, g1}, 5, at, store.ErrAlreadyRevoked, g1},
		{"listed twice, far apart", []string{g1, g2, g3, g4, g1}, 5, at, store.ErrAlreadyRevoked, g1},
		{"unknown before revoked", []string{g1, unknown, revoked}, 5, at, store.ErrNotFound, unknown},
		{"revoked before unknown", []string{g1, revoked, unknown}, 5, at, store.ErrAlreadyRevoked, revoked},
		{"offender after a full batch", []string{g1, g2, g3, g4, unknown}, 5, at, store.ErrNotFound, unknown},
		{"only offender", []string{unknown}, 5, at, store.ErrNotFound, unknown},
		{"malformed serial", []string{g1, "ABC"}, 5, at, store.ErrInvalid, "ABC"},
		{"reason 7", []string{g1, g2}, 7, at, store.ErrInvalid, g1},
		{"no time", []string{g1, g2}, 5, time.Time{}, store.ErrInvalid, g1},
	}
	for _, tc := range cases {
		update(t, s, func(tx store.Tx) error {
			rs, err := tx.RevokeMany(tc.serials, tc.reason, tc.at)
			if err := refusal(tc.name, err, tc.code, tc.serial); err != nil {
				return err
			}
			if rs != nil {
				return fmt.Errorf("%s: refused RevokeMany returned %v", tc.name, rs)
			}
			// Within the transaction too: nothing changed.
			seq, err := tx.RevocationSeq()
			if err != nil {
				return err
			}
			c, err := tx.GetCertificate(g1)
			if err != nil {
				return err
			}
			if seq != 1 || c.Status != store.StatusGood {
				return fmt.Errorf("%s: after the refusal, seq %d and %s is %s", tc.name, seq, g1, c.Status)
			}
			return nil // commit: the refused call must have written nothing
		})
	}
	view(t, s, func(tx store.Tx) error {
		rs, err := tx.RevocationsSince(1, 0)
		noErr(t, "RevocationsSince", err)
		good, err := tx.ListCertificates(store.CertFilter{PartyID: cs[0].PartyID, Status: store.StatusGood})
		noErr(t, "ListCertificates", err)
		if len(rs) != 0 || len(good) != len(cs)-1 {
			t.Fatalf("refusals wrote: %d revocations after seq 1, %d good certificates (want 0, %d)", len(rs), len(good), len(cs)-1)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		_, err := tx.RevokeMany([]string{g1, g2, g3, g4, unknown}, 5, at)
		if err := refusal("RevokeMany", err, store.ErrNotFound, unknown); err != nil {
			return err
		}
		rs, err := tx.RevokeMany([]string{g4, g1, g2, g3, cs[5].Serial}, 5, at)
		if err != nil {
			return err
		}
		want := []store.Revocation{revocationOf(cs[4], 2, 5, at), revocationOf(cs[1], 3, 5, at), revocationOf(cs[2], 4, 5, at),
			revocationOf(cs[3], 5, 5, at), revocationOf(cs[5], 6, 5, at)}
		return differ("RevokeMany after a refusal", rs, want)
	})
}

// testConcurrentRevokeMany: batches from several goroutines, some after a
// single Revoke in the same transaction, get gap-free numbers, consecutive
// within each call.
func testConcurrentRevokeMany(t *testing.T, s store.Store) {
	const iterations, per = 5, 4
	certs := make([][]store.Certificate, workers)
	for w := range certs {
		certs[w] = putCerts(t, s, iterations*(per+1))
	}
	seqs := make([][]uint64, workers)
	parallel(t, iterations, func(w, i int) error {
		mine := certs[w][i*(per+1) : (i+1)*(per+1)]
		var got []store.Revocation
		err := s.Update(context.Background(), func(tx store.Tx) error {
			got = got[:0]
			if i%2 == 1 {
				r, err := tx.Revoke(mine[per].Serial, 1, base)
				if err != nil {
					return err
				}
				got = append(got, r)
			}
			rs, err := tx.RevokeMany(serials(mine[:per]), 5, base)
			got = append(got, rs...)
			return err
		})
		if err != nil {
			return err
		}
		for j := 1; j < len(got); j++ {
			if got[j].Seq != got[j-1].Seq+1 {
				t.Errorf("worker %d: seqs %v in one transaction are not consecutive", w, got)
			}
		}
		for _, r := range got {
			seqs[w] = append(seqs[w], r.Seq)
		}
		return nil
	})
	all := slices.Concat(seqs...)
	slices.Sort(all)
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("revocation seqs are not 1..%d: position %d holds %d", len(all), i, seq)
		}
	}
	view(t, s, func(tx store.Tx) error {
		feed, err := tx.RevocationsSince(0, 0)
		noErr(t, "RevocationsSince", err)
		if len(feed) != len(all) {
			t.Fatalf("feed has %d entries, want %d", len(feed), len(all))
		}
		return nil
	})
}

// testRevokeManyRace: goroutines revoke lists sharing one serial. One
// wins; every other sees it revoked (however the engine serialises them)
// and writes none of its own serials.
func testRevokeManyRace(t *testing.T, s store.Store) {
	shared := putCerts(t, s, 1)[0]
	own := make([][]store.Certificate, workers)
	for w := range own {
		own[w] = putCerts(t, s, 2)
	}
	won := make([]bool, workers)
	parallel(t, 1, func(w, _ int) error {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			_, err := tx.RevokeMany([]string{own[w][0].Serial, shared.Serial, own[w][1].Serial}, 5, base)
			return err
		})
		if err == nil {
			won[w] = true
			return nil
		}
		var se *store.SerialError
		if !errors.Is(err, store.ErrAlreadyRevoked) || !errors.As(err, &se) || se.Serial != shared.Serial {
			return err
		}
		return nil
	})
	winners := 0
	view(t, s, func(tx store.Tx) error {
		for w, cs := range own {
			if won[w] {
				winners++
			}
			for _, c := range cs {
				got, err := tx.GetCertificate(c.Serial)
				noErr(t, "GetCertificate", err)
				if (got.Status == store.StatusRevoked) != won[w] {
					t.Errorf("worker %d (won %v): %s is %s", w, won[w], c.Serial, got.Status)
				}
			}
		}
		seq, err := tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		if seq != 3 {
			t.Errorf("RevocationSeq = %d, want 3", seq)
		}
		// Only RevokeMany has revoked in this store: the status index (and
		// any count an engine keeps to plan with) must know all three.
		revoked, err := tx.ListCertificates(store.CertFilter{Status: store.StatusRevoked})
		noErr(t, "ListCertificates", err)
		if len(revoked) != 3 {
			t.Errorf("ListCertificates(revoked) has %d, want 3", len(revoked))
		}
		return nil
	})
	if winners != 1 {
		t.Fatalf("%d goroutines revoked the shared serial, want 1", winners)
	}
}
