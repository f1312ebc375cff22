package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// testListCertificates checks every combination of filter fields and a
// few limits against a brute-force filter over the same data: three
// issuers and one no certificate has, certificates revoked one at a time
// (Revoke) and as a list (RevokeMany), and a user with certificates under
// two parties, more of them than either party has of the other's users
// (so a search by user and party may walk either index).
func testListCertificates(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	issuers := []string{"issuing-ca", "issuing-ca-2", "root"}
	parties := []string{eui(), eui(), eui()}
	type who struct{ user, party string }
	var users []who
	for i := 0; i < 6; i++ {
		users = append(users, who{eui(), parties[i%len(parties)]})
	}
	var all []store.Certificate
	for i := 0; i < 60; i++ {
		u := users[rng.IntN(len(users))]
		c := cert(randSerial(t), u.user, u.party)
		c.Issuer = issuers[rng.IntN(len(issuers))]
		c.Role = []string{"SC", "IS"}[rng.IntN(2)]
		all = append(all, c)
	}
	for i := 0; i < 25; i++ {
		c := cert(randSerial(t), users[0].user, parties[1])
		c.Role = []string{"SC", "IS"}[rng.IntN(2)]
		all = append(all, c)
	}
	update(t, s, func(tx store.Tx) error {
		for _, c := range all {
			noErr(t, "PutCertificate", tx.PutCertificate(c))
		}
		return nil
	})
	revoked := func(i int) bool { return i%3 == 0 || i%5 == 1 }
	update(t, s, func(tx store.Tx) error {
		var many []string
		for i := range all {
			switch {
			case i%3 == 0:
				_, err := tx.Revoke(all[i].Serial, 1, base.Add(time.Hour))
				noErr(t, "Revoke", err)
			case revoked(i):
				many = append(many, all[i].Serial)
			}
		}
		_, err := tx.RevokeMany(many, 4, base.Add(time.Hour))
		noErr(t, "RevokeMany", err)
		return nil
	})
	for i := range all {
		all[i].Status = store.StatusGood
		if revoked(i) {
			all[i].Status = store.StatusRevoked
		}
	}
	slices.SortFunc(all, func(a, b store.Certificate) int {
		if a.Serial < b.Serial {
			return -1
		}
		return 1
	})

	userIDs := []string{"", users[0].user, users[1].user, eui()}
	partyIDs := append([]string{""}, parties[0], eui())
	statuses := []store.CertStatus{"", store.StatusGood, store.StatusRevoked}
	issuerF := append([]string{""}, append(issuers, "unknown-ca")...)
	roles := []string{"", "SC", "GT"}
	afters := []string{"", all[len(all)/2].Serial, all[len(all)/2].Serial + "0", all[len(all)-1].Serial}
	view(t, s, func(tx store.Tx) error {
		for _, u := range userIDs {
			for _, p := range partyIDs {
				for _, st := range statuses {
					for _, is := range issuerF {
						for _, ro := range roles {
							for _, after := range afters {
								for _, limit := range []int{0, 1, 5} {
									f := store.CertFilter{Issuer: is, UserID: u, PartyID: p, Role: ro, Status: st, After: after, Limit: limit}
									got, err := tx.ListCertificates(f)
									noErr(t, fmt.Sprintf("ListCertificates(%+v)", f), err)
									want := oracle(all, f)
									if !slices.Equal(serials(got), want) {
										t.Fatalf("ListCertificates(%+v) = %v, want %v", f, serials(got), want)
									}
								}
							}
						}
					}
				}
			}
		}
		// Paging by After walks every certificate exactly once.
		var paged []string
		for after := ""; ; {
			page, err := tx.ListCertificates(store.CertFilter{After: after, Limit: 7})
			noErr(t, "ListCertificates page", err)
			paged = append(paged, serials(page)...)
			if len(page) < 7 {
				break
			}
			after = page[len(page)-1].Serial
		}
		if want := oracle(all, store.CertFilter{}); !slices.Equal(paged, want) {
			t.Fatalf("paging by After = %v, want %v", paged, want)
		}
		return nil
	})
	wantErr(t, "ListCertificates negative limit", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListCertificates(store.CertFilter{Limit: -1})
		return err
	}), store.ErrInvalid)
}

func oracle(all []store.Certificate, f store.CertFilter) []string {
	out := []string{}
	for _, c := range all {
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		if (f.Issuer == "" || c.Issuer == f.Issuer) && (f.UserID == "" || c.UserID == f.UserID) &&
			(f.PartyID == "" || c.PartyID == f.PartyID) && (f.Status == "" || c.Status == f.Status) &&
			(f.Role == "" || c.Role == f.Role) && c.Serial > f.After {
			out = append(out, c.Serial)
		}
	}
	return out
}
