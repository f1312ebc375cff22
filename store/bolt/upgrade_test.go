package bolt_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// testdata/layout-v1.db.gz is a store file written by the release before
// the issuer and the status good were no longer indexed (smki 9563ce1):
// 30 certificates of two issuers ("issuing-ca", and "root" for every
// third, which has no UserID), five users, two parties, roles SC and IS,
// serials %02x%030x of ((i*37)%251, i); Revoke of every fourth, then
// RevokeMany of the 6th, 8th and 12th. testdata/layout-v1.golden.gz is
// that release's answer to every filter of layoutFilters, as indexes into
// its full listing.

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// layoutFilters is every combination of a few values of each filter
// field over the fixture, all its certificates in serial order.
func layoutFilters(all []store.Certificate) []store.CertFilter {
	var fs []store.CertFilter
	for _, is := range []string{"", "issuing-ca", "root", "other-ca"} {
		for _, u := range []string{"", "90-B3-D5-1F-00-00-00-01", "90-B3-D5-1F-00-00-00-09"} {
			for _, p := range []string{"", "90-B3-D5-1F-00-00-01-00", "90-B3-D5-1F-00-00-01-09"} {
				for _, st := range []store.CertStatus{"", store.StatusGood, store.StatusRevoked} {
					for _, ro := range []string{"", "SC"} {
						for _, after := range []string{"", all[len(all)/2].Serial} {
							for _, limit := range []int{0, 3} {
								fs = append(fs, store.CertFilter{Issuer: is, UserID: u, PartyID: p, Status: st, Role: ro, After: after, Limit: limit})
							}
						}
					}
				}
			}
		}
	}
	return fs
}

// layoutAnswers is the store's answer to every layoutFilters filter, in
// the golden file's form.
func layoutAnswers(t *testing.T, s store.Store) string {
	t.Helper()
	var out strings.Builder
	err := s.View(context.Background(), func(tx store.Tx) error {
		all, err := tx.ListCertificates(store.CertFilter{})
		if err != nil {
			return err
		}
		index := map[string]int{}
		for i, c := range all {
			index[c.Serial] = i
		}
		for _, f := range layoutFilters(all) {
			got, err := tx.ListCertificates(f)
			if err != nil {
				return err
			}
			fmt.Fprintf(&out, "issuer=%q user=%q party=%q status=%q role=%q after=%q limit=%d:",
				f.Issuer, f.UserID, f.PartyID, f.Status, f.Role, f.After, f.Limit)
			for _, c := range got {
				fmt.Fprintf(&out, " %d", index[c.Serial])
			}
			out.WriteString("\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// oldIndexEntries counts, with bbolt directly, what the old layout has
// and this one drops: the issuer index's entries (-1: no bucket), the
// status index's good entries and the counts of issuers, of good and of
// users; and the revoked entries, which stay.
func oldIndexEntries(t *testing.T, path string) (issuer, good, counts, revoked int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(btx *bbolt.Tx) error {
		issuer = -1
		if b := btx.Bucket([]byte("idx_cert_issuer")); b != nil {
			issuer = b.Stats().KeyN
		}
		if err := btx.Bucket([]byte("idx_cert_status")).ForEach(func(k, _ []byte) error {
			switch {
			case bytes.HasPrefix(k, []byte("good\x00")):
				good++
			case bytes.HasPrefix(k, []byte("revoked\x00")):
				revoked++
			}
			return nil
		}); err != nil {
			return err
		}
		return btx.Bucket([]byte("idx_cert_counts")).ForEach(func(k, _ []byte) error {
			if bytes.HasPrefix(k, []byte("idx_cert_issuer\x00")) || bytes.HasPrefix(k, []byte("idx_cert_user\x00")) ||
				string(k) == "idx_cert_status\x00good" {
				counts++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return issuer, good, counts, revoked
}

// TestOpenNarrowsOldIndexes: a file written before the issuer and the
// status good were no longer indexed and users' certificates no longer
// counted opens, answers every filter as the
// release that wrote it did, loses those index entries and counts (and
// keeps the revoked ones) at the first Open, and answers the same after
// a second Open (the upgrade is idempotent) and after a revocation.
func TestOpenNarrowsOldIndexes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	if err := os.WriteFile(path, gunzip(t, "testdata/layout-v1.db.gz"), 0o600); err != nil {
		t.Fatal(err)
	}
	golden := string(gunzip(t, "testdata/layout-v1.golden.gz"))
	if issuer, good, counts, revoked := oldIndexEntries(t, path); issuer != 30 || good != 19 || counts != 8 || revoked != 11 {
		t.Fatalf("fixture: %d issuer index entries, %d good, %d of their counts and users', %d revoked; want 30, 19, 8, 11", issuer, good, counts, revoked)
	}
	for round := 1; round <= 2; round++ {
		s, err := bolt.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got := layoutAnswers(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got != golden {
			gl, wl := strings.Split(got, "\n"), strings.Split(golden, "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("open %d: answer %d differs from the old release's:\n got %s\nwant %s", round, i, gl[i], wl[i])
				}
			}
			t.Fatalf("open %d: %d answers, the old release gave %d", round, len(gl), len(wl))
		}
		if issuer, good, counts, revoked := oldIndexEntries(t, path); issuer != -1 || good != 0 || counts != 0 || revoked != 11 {
			t.Fatalf("after open %d: %d issuer index entries (-1: none), %d good, %d of their counts and users', %d revoked; want -1, 0, 0, 11", round, issuer, good, counts, revoked)
		}
	}

	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var all []store.Certificate
	err = s.Update(ctx, func(tx store.Tx) error {
		var err error
		if all, err = tx.ListCertificates(store.CertFilter{Status: store.StatusGood, Issuer: "issuing-ca"}); err != nil {
			return err
		}
		if _, err := tx.Revoke(all[0].Serial, 1, time.Now()); err != nil {
			return err
		}
		all, err = tx.ListCertificates(store.CertFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		for _, f := range layoutFilters(all) {
			got, err := tx.ListCertificates(f)
			if err != nil {
				return err
			}
			var want []string
			for _, c := range all {
				if (f.Issuer == "" || c.Issuer == f.Issuer) && (f.UserID == "" || c.UserID == f.UserID) &&
					(f.PartyID == "" || c.PartyID == f.PartyID) && (f.Status == "" || c.Status == f.Status) &&
					(f.Role == "" || c.Role == f.Role) && c.Serial > f.After && (f.Limit == 0 || len(want) < f.Limit) {
					want = append(want, c.Serial)
				}
			}
			var gotSerials []string
			for _, c := range got {
				gotSerials = append(gotSerials, c.Serial)
			}
			if !slices.Equal(gotSerials, want) {
				t.Errorf("after a revocation, ListCertificates(%+v) = %v, want %v", f, gotSerials, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
