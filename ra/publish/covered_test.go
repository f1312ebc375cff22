package publish

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// TestCompactLeavesOutWhatAPartyRevocationCovers: the compact revoked
// section leaves out exactly the certificates a party-wide revocation
// refuses whenever their own entries would (the party's users'
// certificates with a notBefore before issued_before, revoked no earlier
// than the record); it keeps one revoked earlier than the record, one
// issued after issued_before, another party's, and a certificate without
// a user; the embedded form keeps them all; moving a user to another
// party brings its certificate back.
func TestCompactLeavesOutWhatAPartyRevocationCovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	st := f.st
	failed, other := eui64.MustParse("90-B3-D5-1F-30-00-00-01"), eui64.MustParse("90-B3-D5-1F-30-00-00-02")
	uF, uO := eui64.MustParse("90-B3-D5-1F-30-01-00-01"), eui64.MustParse("90-B3-D5-1F-30-01-00-02")
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	at, earlier := t0.Add(2*time.Hour), t0.Add(time.Hour)
	issuedBefore := t0.Add(90 * time.Minute)
	type cert struct {
		serial    string
		user      eui64.ID
		notBefore time.Time
		revokedAt time.Time
		covered   bool
	}
	certs := []cert{
		{"a1", uF, t0, at, true},                                 // the party's, revoked with the record
		{"a2", uF, t0.Add(time.Minute), at.Add(time.Hour), true}, // revoked after the record
		{"a3", uF, t0, earlier, false},                           // revoked before the record: its own time counts
		{"a4", uF, issuedBefore, at, false},                      // issued at issued_before: not covered
		{"a5", uO, t0, at, false},                                // another party's
		{"a6", eui64.ID{}, t0, at, false},                        // no user (a CA's)
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, p := range []eui64.ID{failed, other} {
			if err := tx.CreateParty(store.Party{ID: p.String(), Name: "P", Status: store.StatusActive, CreatedAt: t0}); err != nil {
				return err
			}
		}
		for u, p := range map[eui64.ID]eui64.ID{uF: failed, uO: other} {
			if err := tx.CreateUser(store.User{ID: u.String(), PartyID: p.String(), Role: "IS", Name: "U", Status: store.StatusActive, CreatedAt: t0}); err != nil {
				return err
			}
		}
		for i, c := range certs {
			der := f.certDER(t, int64(0xa1+i), c.notBefore)
			sc := store.Certificate{Serial: c.serial, Issuer: "issuing-ca", Profile: "xml-signing", NotBefore: c.notBefore,
				NotAfter: c.notBefore.AddDate(1, 0, 0), IssuedAt: c.notBefore, DER: der}
			if !c.user.IsZero() {
				sc.UserID = c.user.String()
				sc.PartyID = failed.String()
				if c.user == uO {
					sc.PartyID = other.String()
				}
			}
			if err := tx.PutCertificate(sc); err != nil {
				return err
			}
			if _, err := tx.Revoke(c.serial, 5, c.revokedAt); err != nil {
				return err
			}
		}
		return records.PutPartyRevocation(tx, failed, issuedBefore, at, 5)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := New(st, nil, func() time.Time { return at.Add(3 * time.Hour) }, slog.New(slog.DiscardHandler), time.Hour, nil)
	serials := func(rs []bundle.RevokedCert) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Serial)
		}
		slices.Sort(out)
		return out
	}
	var wantCompact, wantAll []string
	for _, c := range certs {
		wantAll = append(wantAll, c.serial)
		if !c.covered {
			wantCompact = append(wantCompact, c.serial)
		}
	}
	check := func(name string, wantCompact []string) {
		t.Helper()
		compact, err := p.Bundle(ctx, Omitted)
		if err != nil {
			t.Fatal(err)
		}
		full, err := p.Bundle(ctx, Embedded)
		if err != nil {
			t.Fatal(err)
		}
		if got := serials(compact.Revoked); !slices.Equal(got, wantCompact) {
			t.Errorf("%s: compact revoked %v, want %v", name, got, wantCompact)
		}
		if got := serials(full.Revoked); !slices.Equal(got, wantAll) {
			t.Errorf("%s: embedded revoked %v, want every one: %v", name, got, wantAll)
		}
		if len(compact.RevokedParties) != 1 {
			t.Errorf("%s: revoked_parties %+v, want the one record", name, compact.RevokedParties)
		}
	}
	check("record", wantCompact)
	// The user moves to the other party: the record no longer covers its
	// certificates for a verifier, so they are listed again.
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.PutUser(store.User{ID: uF.String(), PartyID: other.String(), Role: "IS", Name: "U", Status: store.StatusActive, CreatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	check("user moved", wantAll)
}
