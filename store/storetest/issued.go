package storetest

import (
	"slices"
	"testing"

	"github.com/smki/smki/store"
)

// testIssuanceSeq: PutCertificate numbers certificates 1, 2, ... in commit
// order; a refused insert or a rolled-back transaction uses no number;
// CertificatesIssuedSince pages through them; callers cannot choose one.
func testIssuanceSeq(t *testing.T, s store.Store) {
	view(t, s, func(tx store.Tx) error {
		n, err := tx.IssuanceSeq()
		noErr(t, "IssuanceSeq on an empty store", err)
		if n != 0 {
			t.Fatalf("IssuanceSeq on an empty store = %d, want 0", n)
		}
		return nil
	})
	var want []string
	for i := 0; i < 5; i++ {
		c := cert(randSerial(t), eui(), eui())
		update(t, s, func(tx store.Tx) error { return tx.PutCertificate(c) })
		want = append(want, c.Serial)
	}
	// A duplicate serial and a rolled-back insert consume no number.
	dup := cert(want[0], eui(), eui())
	dup.KeyHash = ""
	wantErr(t, "PutCertificate duplicate", s.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutCertificate(dup)
	}), store.ErrDuplicateSerial)
	wantErr(t, "rolled back", s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PutCertificate(cert(randSerial(t), eui(), eui())); err != nil {
			return err
		}
		return store.ErrInvalid
	}), store.ErrInvalid)
	c := cert(randSerial(t), eui(), eui())
	c.IssuanceSeq = 99
	wantErr(t, "PutCertificate with IssuanceSeq set", s.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutCertificate(c)
	}), store.ErrInvalid)
	// Two in one transaction get consecutive numbers.
	a, b := cert(randSerial(t), eui(), eui()), cert(randSerial(t), eui(), eui())
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PutCertificate", tx.PutCertificate(a))
		return tx.PutCertificate(b)
	})
	want = append(want, a.Serial, b.Serial)
	// Revoking keeps the number.
	update(t, s, func(tx store.Tx) error { _, err := tx.Revoke(want[1], 1, base); return err })

	view(t, s, func(tx store.Tx) error {
		n, err := tx.IssuanceSeq()
		noErr(t, "IssuanceSeq", err)
		if n != uint64(len(want)) {
			t.Fatalf("IssuanceSeq = %d, want %d", n, len(want))
		}
		all, err := tx.CertificatesIssuedSince(0, 0)
		noErr(t, "CertificatesIssuedSince(0, 0)", err)
		if !slices.Equal(serials(all), want) {
			t.Fatalf("CertificatesIssuedSince(0, 0) = %v, want %v", serials(all), want)
		}
		for i, c := range all {
			if c.IssuanceSeq != uint64(i+1) {
				t.Fatalf("certificate %s has IssuanceSeq %d, want %d", c.Serial, c.IssuanceSeq, i+1)
			}
			got, err := tx.GetCertificate(c.Serial)
			noErr(t, "GetCertificate", err)
			if got.IssuanceSeq != c.IssuanceSeq {
				t.Fatalf("GetCertificate(%s).IssuanceSeq = %d, want %d", c.Serial, got.IssuanceSeq, c.IssuanceSeq)
			}
		}
		page, err := tx.CertificatesIssuedSince(2, 3)
		noErr(t, "CertificatesIssuedSince(2, 3)", err)
		if !slices.Equal(serials(page), want[2:5]) {
			t.Fatalf("CertificatesIssuedSince(2, 3) = %v, want %v", serials(page), want[2:5])
		}
		rest, err := tx.CertificatesIssuedSince(uint64(len(want)), 0)
		noErr(t, "CertificatesIssuedSince(head)", err)
		if len(rest) != 0 {
			t.Fatalf("CertificatesIssuedSince(head) = %v, want none", serials(rest))
		}
		_, err = tx.CertificatesIssuedSince(0, -1)
		wantErr(t, "CertificatesIssuedSince negative limit", err, store.ErrInvalid)
		return nil
	})
}
