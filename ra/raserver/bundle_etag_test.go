package raserver

import (
	"context"
	"testing"
	"time"
)

// TestBundleConditionalRefresh: a follower sends the ETag of the bundle in
// force; the RA answers 304 (nothing installed, no error) while the
// content is unchanged and the copy younger than half of max_age, and a
// fresh bundle when the content changed or the copy is that old.
func TestBundleConditionalRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newLatencyRig(t, ctx, 1, 1)
	f, fol := r.f, r.probes[0].f
	advance := f.clock.Advance
	sync := func(step string, want bool) {
		t.Helper()
		got, err := fol.SyncBundle(ctx)
		if err != nil || got != want {
			t.Fatalf("%s: installed %v, %v; want installed %v", step, got, err, want)
		}
	}
	advance(time.Minute)
	sync("first fetch", true)
	advance(time.Minute)
	sync("unchanged a minute later (304)", false)
	if _, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "suspended"); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	sync("after a party suspension", true)
	if fol.Verifier.PartySeq() != 1 {
		t.Fatalf("party_seq %d after the new bundle, want 1", fol.Verifier.PartySeq())
	}
	advance(time.Minute)
	sync("unchanged again (304)", false)
	advance(12 * time.Hour) // half of the default 24h max_age
	sync("unchanged but half of max_age old", true)
}
