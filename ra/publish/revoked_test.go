package publish

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestRevokedSectionFollowsRevocations: a compact bundle's revoked
// section is read from the store again exactly when the revocation
// sequence moved, lists what a full read lists (the embedded form's,
// built without the cache) at every step, and its change changes the
// content hash.
func TestRevokedSectionFollowsRevocations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	st := f.st
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	serials := make([]string, 3)
	err := st.Update(ctx, func(tx store.Tx) error {
		for i := range serials {
			nb := now.Add(-time.Hour)
			serials[i] = fmt.Sprintf("%x", 0x70+i)
			if err := tx.PutCertificate(store.Certificate{Serial: serials[i], Issuer: "issuing-ca", Profile: "xml-signing",
				NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0), IssuedAt: now, DER: f.certDER(t, int64(0x70+i), nb)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := New(st, nil, func() time.Time { return now }, slog.New(slog.DiscardHandler), time.Hour, nil)
	revoke := func(serial string) {
		t.Helper()
		if err := st.Update(ctx, func(tx store.Tx) error { _, err := tx.Revoke(serial, 1, now); return err }); err != nil {
			t.Fatal(err)
		}
	}
	var last string
	step := func(name string, wantRevoked, wantReads int) {
		t.Helper()
		b, digests, err := p.build(ctx, Omitted)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		full, err := p.Bundle(ctx, Embedded)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(b.Revoked) != wantRevoked || !reflect.DeepEqual(b.Revoked, full.Revoked) {
			t.Errorf("%s: revoked section %+v, a full read lists %+v (want %d entries)", name, b.Revoked, full.Revoked, wantRevoked)
		}
		if p.revoked.builds != wantReads {
			t.Errorf("%s: the revoked section was read from the store %d times, want %d", name, p.revoked.builds, wantReads)
		}
		h, err := bundleContentHash(b, digests)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := bundleContentHash(b, sectionDigests{}); again != h {
			t.Errorf("%s: content hash %s with the cached digest, %s computed", name, h, again)
		}
		last = h
	}
	step("none revoked", 0, 1)
	first := last
	step("unchanged", 0, 1)
	if last != first {
		t.Error("unchanged store, new content hash")
	}
	revoke(serials[1])
	step("one revoked", 1, 2)
	if last == first {
		t.Error("a revocation left the content hash unchanged")
	}
	step("unchanged again", 1, 2)
	revoke(serials[0])
	revoke(serials[2])
	step("three revoked", 3, 3)
}
