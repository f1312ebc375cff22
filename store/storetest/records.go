package storetest

import (
	"testing"

	"github.com/smki/smki/store"
)

func testMeta(t *testing.T, s store.Store) {
	view(t, s, func(tx store.Tx) error {
		_, err := tx.GetMeta("ca.config")
		wantErr(t, "GetMeta missing", err, store.ErrNotFound)
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		noErr(t, "PutMeta", tx.PutMeta("ca.config", []byte("v1")))
		noErr(t, "PutMeta overwrite", tx.PutMeta("ca.config", []byte("v2")))
		noErr(t, "PutMeta empty value", tx.PutMeta("empty", nil))
		return nil
	})
	wantErr(t, "PutMeta empty key", try(s, func(tx store.Tx) error { return tx.PutMeta("", []byte("x")) }), store.ErrInvalid)
	view(t, s, func(tx store.Tx) error {
		v, err := tx.GetMeta("ca.config")
		noErr(t, "GetMeta", err)
		if string(v) != "v2" {
			t.Fatalf("GetMeta = %q, want v2", v)
		}
		v, err = tx.GetMeta("empty")
		noErr(t, "GetMeta empty", err)
		if len(v) != 0 {
			t.Fatalf("GetMeta empty = %q", v)
		}
		return nil
	})
}

func testIntents(t *testing.T, s store.Store) {
	a, b, c := randSerial(t), randSerial(t), randSerial(t)
	user := eui()
	update(t, s, func(tx store.Tx) error {
		for _, sn := range []string{a, b, c} {
			noErr(t, "CreateIntent", tx.CreateIntent(intent(sn, user)))
		}
		return nil
	})
	wantErr(t, "CreateIntent duplicate", try(s, func(tx store.Tx) error { return tx.CreateIntent(intent(a, eui())) }), store.ErrDuplicateSerial)
	wantErr(t, "SetIntentState unknown serial", try(s, func(tx store.Tx) error {
		return tx.SetIntentState(randSerial(t), store.IntentFailed)
	}), store.ErrNotFound)
	wantErr(t, "SetIntentState bad state", try(s, func(tx store.Tx) error {
		return tx.SetIntentState(a, "signed")
	}), store.ErrInvalid)
	update(t, s, func(tx store.Tx) error {
		noErr(t, "SetIntentState failed", tx.SetIntentState(b, store.IntentFailed))
		noErr(t, "SetIntentState completed", tx.SetIntentState(c, store.IntentCompleted))
		return nil
	})
	// A failed intent keeps its serial.
	wantErr(t, "CreateIntent over failed intent", try(s, func(tx store.Tx) error { return tx.CreateIntent(intent(b, user)) }), store.ErrDuplicateSerial)
	// A certificate holds its serial even without an intent (CA certificates).
	d := randSerial(t)
	update(t, s, func(tx store.Tx) error { return tx.PutCertificate(cert(d, eui(), eui())) })
	wantErr(t, "CreateIntent over certificate", try(s, func(tx store.Tx) error { return tx.CreateIntent(intent(d, user)) }), store.ErrDuplicateSerial)

	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetIntent(a)
		noErr(t, "GetIntent", err)
		want := intent(a, user)
		want.State = store.IntentOpen
		same(t, "GetIntent", got, want)
		got, err = tx.GetIntent(b)
		noErr(t, "GetIntent", err)
		if got.State != store.IntentFailed {
			t.Fatalf("intent b state %q, want failed", got.State)
		}
		_, err = tx.GetIntent(randSerial(t))
		wantErr(t, "GetIntent missing", err, store.ErrNotFound)
		open, err := tx.OpenIntents()
		noErr(t, "OpenIntents", err)
		if len(open) != 1 || open[0].Serial != a {
			t.Fatalf("OpenIntents = %v, want only %s", open, a)
		}
		return nil
	})
}

func testCertificates(t *testing.T, s store.Store) {
	user, other, party := eui(), eui(), eui()
	a := cert(randSerial(t), user, party)
	// Same key, same user: a renewal with the same key is allowed.
	b := cert(randSerial(t), user, party)
	b.KeyHash = a.KeyHash
	// CA certificates: no user, no party.
	root := cert(randSerial(t), "", "")
	root.Issuer = "root"
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateIntent", tx.CreateIntent(intent(a.Serial, user)))
		noErr(t, "PutCertificate a", tx.PutCertificate(a))
		noErr(t, "PutCertificate b (same key, same user)", tx.PutCertificate(b))
		noErr(t, "PutCertificate root", tx.PutCertificate(root))
		return nil
	})
	wantErr(t, "PutCertificate duplicate serial", try(s, func(tx store.Tx) error {
		return tx.PutCertificate(cert(a.Serial, user, party))
	}), store.ErrDuplicateSerial)
	stolen := cert(randSerial(t), other, party)
	stolen.KeyHash = a.KeyHash
	wantErr(t, "PutCertificate key of another user", try(s, func(tx store.Tx) error {
		return tx.PutCertificate(stolen)
	}), store.ErrDuplicateKey)

	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetCertificate(a.Serial)
		noErr(t, "GetCertificate", err)
		want := a
		want.Status = store.StatusGood
		want.IssuanceSeq = 1 // the first certificate put
		same(t, "GetCertificate", got, want)
		_, err = tx.GetCertificate(stolen.Serial)
		wantErr(t, "GetCertificate of refused insert", err, store.ErrNotFound)
		byKey, err := tx.CertificatesByKey(a.KeyHash)
		noErr(t, "CertificatesByKey", err)
		if len(byKey) != 2 || !containsAll(serials(byKey), a.Serial, b.Serial) || byKey[0].Serial > byKey[1].Serial {
			t.Fatalf("CertificatesByKey = %v, want %s and %s in serial order", serials(byKey), a.Serial, b.Serial)
		}
		none, err := tx.CertificatesByKey(keyHash("nobody"))
		noErr(t, "CertificatesByKey none", err)
		if len(none) != 0 {
			t.Fatalf("CertificatesByKey(unknown) = %v", serials(none))
		}
		// The refused insert left no index entries behind.
		byUser, err := tx.ListCertificates(store.CertFilter{UserID: other})
		noErr(t, "ListCertificates", err)
		if len(byUser) != 0 {
			t.Fatalf("refused certificate is listed: %v", serials(byUser))
		}
		return nil
	})
}

func containsAll(have []string, want ...string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}
