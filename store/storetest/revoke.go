package storetest

import (
	"testing"
	"time"

	"github.com/smki/smki/store"
)

func testRevoke(t *testing.T, s store.Store) {
	user, party := eui(), eui()
	cs := []store.Certificate{cert(randSerial(t), user, party), cert(randSerial(t), user, party), cert(randSerial(t), eui(), party)}
	update(t, s, func(tx store.Tx) error {
		for _, c := range cs {
			noErr(t, "PutCertificate", tx.PutCertificate(c))
		}
		seq, err := tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		if seq != 0 {
			t.Fatalf("RevocationSeq of empty store = %d", seq)
		}
		return nil
	})
	wantErr(t, "Revoke unknown", try(s, func(tx store.Tx) error {
		_, err := tx.Revoke(randSerial(t), 1, base)
		return err
	}), store.ErrNotFound)

	at := base.Add(90 * time.Minute)
	var got []store.Revocation
	// Two revocations in one transaction, one in another.
	update(t, s, func(tx store.Tx) error {
		got = got[:0]
		for _, c := range cs[:2] {
			r, err := tx.Revoke(c.Serial, 5, at)
			noErr(t, "Revoke", err)
			got = append(got, r)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		r, err := tx.Revoke(cs[2].Serial, 4, at)
		noErr(t, "Revoke", err)
		got = append(got, r)
		return nil
	})
	for i, r := range got {
		want := store.Revocation{Seq: uint64(i + 1), Serial: cs[i].Serial, Issuer: cs[i].Issuer, UserID: cs[i].UserID,
			PartyID: cs[i].PartyID, Reason: 5, RevokedAt: at}
		if i == 2 {
			want.Reason = 4
		}
		same(t, "Revocation", r, want)
	}
	wantErr(t, "Revoke twice", try(s, func(tx store.Tx) error {
		_, err := tx.Revoke(cs[0].Serial, 1, at)
		return err
	}), store.ErrAlreadyRevoked)

	view(t, s, func(tx store.Tx) error {
		seq, err := tx.RevocationSeq()
		noErr(t, "RevocationSeq", err)
		if seq != 3 {
			t.Fatalf("RevocationSeq = %d, want 3", seq)
		}
		c, err := tx.GetCertificate(cs[1].Serial)
		noErr(t, "GetCertificate", err)
		if c.Status != store.StatusRevoked || c.Reason != 5 || c.RevocationSeq != 2 || !c.RevokedAt.Equal(at) {
			t.Fatalf("revoked certificate = %+v", c)
		}
		for _, tc := range []struct {
			since uint64
			limit int
			want  []store.Revocation
		}{
			{0, 0, got}, {1, 0, got[1:]}, {0, 2, got[:2]}, {1, 1, got[1:2]}, {3, 0, nil}, {99, 0, nil},
		} {
			rs, err := tx.RevocationsSince(tc.since, tc.limit)
			noErr(t, "RevocationsSince", err)
			same(t, "RevocationsSince", rs, tc.want)
		}
		good, err := tx.ListCertificates(store.CertFilter{PartyID: party, Status: store.StatusGood})
		noErr(t, "ListCertificates good", err)
		revoked, err := tx.ListCertificates(store.CertFilter{Status: store.StatusRevoked})
		noErr(t, "ListCertificates revoked", err)
		if len(good) != 0 || len(revoked) != 3 {
			t.Fatalf("status index: %d good, %d revoked; want 0, 3", len(good), len(revoked))
		}
		return nil
	})
}

func testCRL(t *testing.T, s store.Store) {
	view(t, s, func(tx store.Tx) error {
		_, err := tx.GetCRL("orl")
		wantErr(t, "GetCRL missing", err, store.ErrNotFound)
		return nil
	})
	orl := store.CRL{Name: "orl", Number: 1, ThisUpdate: base, NextUpdate: base.Add(24 * time.Hour), DER: []byte{0x30, 1}}
	arl := store.CRL{Name: "arl", Number: 7, ThisUpdate: base, NextUpdate: base.AddDate(0, 1, 0), DER: []byte{0x30, 2}}
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PutCRL", tx.PutCRL(orl))
		noErr(t, "PutCRL", tx.PutCRL(arl))
		return nil
	})
	orl2 := orl
	orl2.Number, orl2.DER = 2, []byte{0x30, 3}
	update(t, s, func(tx store.Tx) error { return tx.PutCRL(orl2) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetCRL("orl")
		noErr(t, "GetCRL", err)
		same(t, "GetCRL orl", got, orl2)
		got, err = tx.GetCRL("arl")
		noErr(t, "GetCRL", err)
		same(t, "GetCRL arl", got, arl)
		return nil
	})
}
