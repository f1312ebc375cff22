package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/smki/smki/store"
)

// testIssueBatch: store.CreateIntents and store.RecordIssued give every
// item its own outcome in one transaction (a refused item writes nothing,
// the others are written), number the recorded certificates in item
// order, gap-free with PutCertificate in the same transaction.
func testIssueBatch(t *testing.T, s store.Store) { issueBatch(t, s, false) }

// testWriteIssuance: testIssueBatch with the records written by
// store.WriteIssuance together with two more intents (one new, one whose
// serial is taken), which get their own outcomes.
func testWriteIssuance(t *testing.T, s store.Store) { issueBatch(t, s, true) }

func issueBatch(t *testing.T, s store.Store, together bool) {
	owner, other := eui(), eui()
	held, taken := randSerial(t), randSerial(t)
	heldCert := cert(held, owner, eui())
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateIntent", tx.CreateIntent(intent(taken, owner)))
		return tx.PutCertificate(heldCert)
	})
	ok1, ok2, reused, twice := randSerial(t), randSerial(t), randSerial(t), randSerial(t)
	in := func(serial, user, key string) store.NewIntent {
		return store.NewIntent{Intent: intent(serial, user), KeyHash: key}
	}
	items := []store.NewIntent{
		in(ok1, owner, heldCert.KeyHash), // the key's own user
		in(reused, other, heldCert.KeyHash),
		in(taken, owner, ""),
		in(ok2, other, keyHash("fresh")),
		in(ok2, other, ""), // twice in the group
		in("", other, ""),
		in(twice, owner, ""),
	}
	var errs []error
	update(t, s, func(tx store.Tx) error {
		var err error
		errs, err = store.CreateIntents(tx, items)
		return err
	})
	for i, want := range []error{nil, store.ErrDuplicateKey, store.ErrDuplicateSerial, nil, store.ErrDuplicateSerial, store.ErrInvalid, nil} {
		if want == nil {
			noErr(t, "CreateIntents item", errs[i])
		} else {
			wantErr(t, "CreateIntents item", errs[i], want)
		}
	}
	var ku *store.KeyInUseError
	if !errors.As(errs[1], &ku) || ku.UserID != owner || ku.Serial != held {
		t.Fatalf("CreateIntents key of another user: %v, want a KeyInUseError naming %s and %s", errs[1], owner, held)
	}
	view(t, s, func(tx store.Tx) error {
		for _, sn := range []string{ok1, ok2, twice} {
			got, err := tx.GetIntent(sn)
			noErr(t, "GetIntent", err)
			if got.State != store.IntentOpen {
				t.Fatalf("intent %s is %s, want open", sn, got.State)
			}
		}
		_, err := tx.GetIntent(reused)
		wantErr(t, "refused intent", err, store.ErrNotFound)
		return nil
	})

	// Records. settled's intent is failed; shared is a key two users'
	// certificates of one group claim (the first wins).
	settled, firstPut, lastPut := randSerial(t), randSerial(t), randSerial(t)
	update(t, s, func(tx store.Tx) error {
		noErr(t, "CreateIntent", tx.CreateIntent(intent(settled, owner)))
		return tx.SetIntentState(settled, store.IntentFailed)
	})
	c1, c2 := cert(ok1, owner, eui()), cert(ok2, other, eui())
	c1.KeyHash = heldCert.KeyHash
	cTwice := cert(twice, owner, eui())
	cTwice.KeyHash = c2.KeyHash // c2's key, another user: refused
	stolen := cert(randSerial(t), other, eui())
	stolen.KeyHash = heldCert.KeyHash
	noIntent := cert(randSerial(t), owner, eui())
	// c2 twice: the second sees its intent completed by the first.
	recs := []store.Certificate{c1, noIntent, cert(settled, owner, eui()), c2, cTwice, c2, stolen}
	var before uint64
	var insErrs []error
	extra := randSerial(t)
	update(t, s, func(tx store.Tx) error {
		var err error
		if before, err = tx.IssuanceSeq(); err != nil {
			return err
		}
		noErr(t, "PutCertificate before", tx.PutCertificate(cert(firstPut, eui(), eui())))
		if together {
			insErrs, errs, err = store.WriteIssuance(tx, []store.NewIntent{in(extra, owner, ""), in(taken, owner, "")}, recs)
		} else {
			errs, err = store.RecordIssued(tx, recs)
		}
		if err != nil {
			return err
		}
		return tx.PutCertificate(cert(lastPut, eui(), eui()))
	})
	if together {
		if len(insErrs) != 2 {
			t.Fatalf("WriteIssuance: %d intent outcomes for 2 intents", len(insErrs))
		}
		noErr(t, "WriteIssuance new intent", insErrs[0])
		wantErr(t, "WriteIssuance intent of a taken serial", insErrs[1], store.ErrDuplicateSerial)
	}
	for i, want := range []error{nil, store.ErrNotFound, store.ErrIntentSettled, nil, store.ErrDuplicateKey, store.ErrIntentSettled, store.ErrNotFound} {
		if want == nil {
			noErr(t, "RecordIssued item", errs[i])
		} else {
			wantErr(t, "RecordIssued item", errs[i], want)
		}
	}
	var notOpen *store.IntentNotOpenError
	if !errors.As(errs[2], &notOpen) || notOpen.State != store.IntentFailed {
		t.Fatalf("RecordIssued over a failed intent: %v, want an IntentNotOpenError saying failed", errs[2])
	}
	view(t, s, func(tx store.Tx) error {
		for i, sn := range []string{firstPut, ok1, ok2, lastPut} {
			c, err := tx.GetCertificate(sn)
			noErr(t, "GetCertificate", err)
			if c.IssuanceSeq != before+uint64(i)+1 {
				t.Fatalf("certificate %d (%s) has IssuanceSeq %d, want %d", i, sn, c.IssuanceSeq, before+uint64(i)+1)
			}
		}
		for _, sn := range []string{ok1, ok2} {
			got, err := tx.GetIntent(sn)
			noErr(t, "GetIntent", err)
			if got.State != store.IntentCompleted {
				t.Fatalf("intent %s is %s after its record, want completed", sn, got.State)
			}
		}
		got, err := tx.GetIntent(twice)
		noErr(t, "GetIntent", err)
		if got.State != store.IntentOpen {
			t.Fatalf("refused record's intent is %s, want open", got.State)
		}
		if together {
			got, err := tx.GetIntent(extra)
			noErr(t, "GetIntent of WriteIssuance's intent", err)
			if got.State != store.IntentOpen {
				t.Fatalf("WriteIssuance's intent is %s, want open", got.State)
			}
		}
		for _, sn := range []string{twice, noIntent.Serial, settled} {
			_, err := tx.GetCertificate(sn)
			wantErr(t, "refused record", err, store.ErrNotFound)
		}
		n, err := tx.IssuanceSeq()
		noErr(t, "IssuanceSeq", err)
		if n != before+4 {
			t.Fatalf("IssuanceSeq = %d, want %d", n, before+4)
		}
		return nil
	})
}

// testGrouperIssuance: concurrent issuances through a store.Grouper's
// CreateIntent and RecordIssued share transactions; each caller gets its
// own outcome: a Check refusal fails only its own intent (and writes none
// of its audit entries), a refused key only its own issuance, and audit
// entries go in with their record.
func testGrouperIssuance(t *testing.T, s store.Store) {
	g := store.NewGrouper(s.Update)
	ctx := context.Background()
	owner := eui()
	held := cert(randSerial(t), owner, eui())
	update(t, s, func(tx store.Tx) error { return tx.PutCertificate(held) })
	const n = 24
	refuse := errors.New("party not active")
	serials := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		serials[i] = randSerial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, key := eui(), keyHash(serials[i])
			if i == 1 {
				key = held.KeyHash // another user's key
			}
			if errs[i] = g.CreateIntent(ctx, store.NewIntent{Intent: intent(serials[i], user), KeyHash: key}); errs[i] != nil {
				return
			}
			c := cert(serials[i], user, eui())
			r := store.IssuedRecord{Cert: c}
			switch i {
			case 2:
				r.Check = func(tx store.Tx) error {
					if _, err := tx.GetCertificate(held.Serial); err != nil {
						return err
					}
					return refuse
				}
				r.Audit = []store.AuditEntry{{Time: base, Actor: "ca", Action: "issue", Subject: c.Serial, Result: "ok"}}
			case 3:
				r.Audit = []store.AuditEntry{{Time: base, Actor: "ca", Action: "issue", Subject: c.Serial, Result: "ok"}}
			}
			errs[i] = g.RecordIssued(ctx, r)
		}()
	}
	wg.Wait()
	var ku *store.KeyInUseError
	if !errors.As(errs[1], &ku) || ku.Serial != held.Serial {
		t.Fatalf("issuance with another user's key: %v, want KeyInUseError naming %s", errs[1], held.Serial)
	}
	var cr *store.CheckRefusal
	if !errors.As(errs[2], &cr) || !errors.Is(errs[2], refuse) {
		t.Fatalf("refused by Check: %v, want a CheckRefusal wrapping %v", errs[2], refuse)
	}
	view(t, s, func(tx store.Tx) error {
		for i, sn := range serials {
			in, err := tx.GetIntent(sn)
			_, cerr := tx.GetCertificate(sn)
			switch i {
			case 1:
				wantErr(t, "refused intent", err, store.ErrNotFound)
			case 2:
				noErr(t, "GetIntent", err)
				if in.State != store.IntentFailed {
					t.Fatalf("intent refused by Check is %s, want failed", in.State)
				}
				wantErr(t, "certificate refused by Check", cerr, store.ErrNotFound)
			default:
				noErr(t, "issuance", errs[i])
				noErr(t, "GetIntent", err)
				noErr(t, "GetCertificate", cerr)
				if in.State != store.IntentCompleted {
					t.Fatalf("intent %d is %s, want completed", i, in.State)
				}
			}
		}
		return nil
	})
	found := false
	for _, e := range sealed(t, s) {
		found = found || e.Subject == serials[3] && e.Action == "issue"
		if e.Subject == serials[2] {
			t.Fatalf("the audit entry of a record its Check refused was written: %+v", e)
		}
	}
	if !found {
		t.Fatalf("the audit entry of a grouped record is missing")
	}
}
