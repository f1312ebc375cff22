package verifier

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
)

// TestRevStatePagesEqualFullMerge holds revState.withPage, which applies a
// feed page to the revocation data in force (recent entries beside the
// last full merge, folded past revRecentMax), to the full merge it stands
// for: after every page, every certificate seen has the same answer from
// revokedAt as from one map of everything with the earliest time each.
// Pages repeat certificates with earlier and later times, and the run goes
// past revRecentMax several times, so the fold is exercised.
func TestRevStatePagesEqualFullMerge(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	key := func(i int) certKey { return certKey{issuer: "ca", serial: fmt.Sprintf("%x", i)} }
	at := func() time.Time { return testNow.Add(time.Duration(rng.IntN(1000)) * time.Second) }
	oracle := map[certKey]time.Time{}
	add := func(m map[certKey]time.Time, k certKey, when time.Time) {
		if old, ok := m[k]; !ok || when.Before(old) {
			m[k] = when
		}
	}
	base := map[certKey]time.Time{}
	for i := range 500 {
		k := key(i)
		add(base, k, at())
		add(oracle, k, base[k])
	}
	r := &revState{revoked: base, seq: 7, freshAt: testNow}
	const keys = 4 * revRecentMax
	folds := 0
	for p := range 300 {
		page := map[certKey]time.Time{}
		size := rng.IntN(100)
		if p%50 == 49 {
			size = revRecentMax // a page that alone forces a fold
		}
		for range size {
			add(page, key(rng.IntN(keys)), at())
		}
		r = r.withPage(page, uint64(8+p), testNow.Add(time.Duration(p)*time.Second))
		for k, when := range page {
			add(oracle, k, when)
		}
		if len(r.recent) > revRecentMax {
			t.Fatalf("page %d: %d recent entries, bound %d", p, len(r.recent), revRecentMax)
		}
		if r.recent == nil {
			folds++
		}
		if r.seq != uint64(8+p) || r.feedSeq != uint64(8+p) || !r.freshAt.Equal(testNow.Add(time.Duration(p)*time.Second)) {
			t.Fatalf("page %d: seq %d feedSeq %d freshAt %s", p, r.seq, r.feedSeq, r.freshAt)
		}
		for i := range keys {
			k := key(i)
			got, ok := r.revokedAt([]certKey{k})
			want, wok := oracle[k]
			if ok != wok || !got.Equal(want) {
				t.Fatalf("page %d, %v: revokedAt %s %v, full merge %s %v", p, k, got, ok, want, wok)
			}
		}
	}
	if folds < 3 {
		t.Fatalf("%d folds in the run; the test must go past revRecentMax", folds)
	}
}

// TestRevStateWithPageLeavesItsInputAlone: a state already published is
// read by requests in flight, so applying a page must not change it.
func TestRevStateWithPageLeavesItsInputAlone(t *testing.T) {
	t.Parallel()
	k1, k2 := certKey{issuer: "ca", serial: "1"}, certKey{issuer: "ca", serial: "2"}
	r := &revState{revoked: map[certKey]time.Time{k1: testNow}}
	r1 := r.withPage(map[certKey]time.Time{k2: testNow}, 8, testNow)
	r2 := r1.withPage(map[certKey]time.Time{k1: testNow.Add(-time.Hour)}, 9, testNow)
	if _, ok := r.revokedAt([]certKey{k2}); ok {
		t.Fatal("the first state sees the page applied after it")
	}
	if got, _ := r1.revokedAt([]certKey{k1}); !got.Equal(testNow) {
		t.Fatalf("the second state sees the third's earlier time: %s", got)
	}
	if got, _ := r2.revokedAt([]certKey{k1}); !got.Equal(testNow.Add(-time.Hour)) {
		t.Fatalf("the earlier time does not win: %s", got)
	}
	big := map[certKey]time.Time{}
	for i := range revRecentMax + 1 {
		big[certKey{issuer: "ca", serial: fmt.Sprintf("b%x", i)}] = testNow
	}
	r3 := r2.withPage(big, 10, testNow)
	if r3.recent != nil || len(r3.revoked) != 2+len(big) {
		t.Fatalf("fold: %d recent, %d revoked", len(r3.recent), len(r3.revoked))
	}
	if len(r.revoked) != 1 || len(r1.recent) != 1 || len(r2.recent) != 2 {
		t.Fatalf("a fold changed the states before it: %d, %d, %d", len(r.revoked), len(r1.recent), len(r2.recent))
	}
}

// TestFeedPageKeepsChainCache: a feed page keeps the chain cache (a chain
// check reads no revocation data) and a new bundle empties it; a signer
// whose chain is cached is still refused from the page that revokes it.
func TestFeedPageKeepsChainCache(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	credit := func(t testing.TB, id identity, ctr uint64) []byte {
		return sign(t, request(t, tmplCredit, userSC, devA1, ctr), id, false)
	}
	mustAccept(t, v, credit(t, s.sc, 1))
	cache := v.cur.Load().cache
	cached := func() int {
		n := 0
		v.cur.Load().cache.Range(func(any, any) bool { n++; return true })
		return n
	}
	if cached() == 0 {
		t.Fatal("an accepted request left nothing in the chain cache")
	}
	gen := v.Generation()
	other := bundle.RevokedCert{Issuer: s.b.cert.Issuer.String(), Serial: s.b.cert.SerialNumber.Text(16), RevokedAt: testNow}
	if err := v.AddRevocations(&bundle.FeedPage{Seq: 8, IssuedAt: testNow, Revoked: []bundle.RevokedCert{other}}); err != nil {
		t.Fatal(err)
	}
	if v.Generation() <= gen {
		t.Fatal("a feed page did not advance the generation")
	}
	if v.cur.Load().cache != cache || cached() == 0 {
		t.Fatal("a feed page emptied the chain cache")
	}
	mustAccept(t, v, credit(t, s.sc, 2))
	self := bundle.RevokedCert{Issuer: s.sc.cert.Issuer.String(), Serial: s.sc.cert.SerialNumber.Text(16), RevokedAt: testNow}
	if err := v.AddRevocations(&bundle.FeedPage{Seq: 9, IssuedAt: testNow, Revoked: []bundle.RevokedCert{self}}); err != nil {
		t.Fatal(err)
	}
	if d := v.Verify(credit(t, s.sc, 3), testNow.Add(time.Minute)); d.Code != CodeREVOKED {
		t.Fatalf("a signer revoked by the feed with its chain cached: %+v", d)
	}
	b := cloneBundle(t, s.bundle)
	b.IssuedAt = b.IssuedAt.Add(time.Minute)
	if err := v.SetBundle(b); err != nil {
		t.Fatal(err)
	}
	if v.cur.Load().cache == cache || cached() != 0 {
		t.Fatal("a new bundle kept the chain cache")
	}
	if d := v.Verify(credit(t, s.sc, 4), testNow.Add(time.Minute)); d.Code != CodeREVOKED {
		t.Fatalf("the feed's revocation did not survive a new bundle: %+v", d)
	}
}

// BenchmarkFeedPage applies feed pages of 10 revocations to a verifier
// whose feed already revoked 100,000 certificates (a failed Supplier's):
// the cost of a page, which a follower pays for every page while the
// revocations of a Supplier failure stream in.
func BenchmarkFeedPage(b *testing.B) {
	s := newScenario(b)
	v := s.verifier(b, nil)
	issuer := s.sc.cert.Issuer.String()
	entries := func(from, n int) []bundle.RevokedCert {
		out := make([]bundle.RevokedCert, n)
		for i := range out {
			out[i] = bundle.RevokedCert{Issuer: issuer, Serial: fmt.Sprintf("%x", 1<<40+from+i), RevokedAt: testNow}
		}
		return out
	}
	if err := v.AddRevocations(&bundle.FeedPage{Seq: 8, IssuedAt: testNow, Revoked: entries(0, 100_000)}); err != nil {
		b.Fatal(err)
	}
	pages := make([]*bundle.FeedPage, b.N)
	for i := range pages {
		pages[i] = &bundle.FeedPage{Seq: uint64(9 + i), IssuedAt: testNow, Revoked: entries(100_000+10*i, 10)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, p := range pages {
		if err := v.AddRevocations(p); err != nil {
			b.Fatal(err)
		}
	}
}
