package bolt

import (
	"bytes"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// Where intents live. Every issuance creates an intent and, one commit
// later, completes it. Keyed by serial (random), both writes landed in
// random leaves of a tree as large as the certificates' own (a completed
// intent keeps its lint certificate), so each issuance rewrote about two
// more leaves and their branches in the commits that carried it: a third
// of the pages an issuance group wrote (BenchmarkIssuanceGroup,
// pages/commit). So:
//
//   - the intents bucket holds, by serial, the intents in flight (open),
//     the failed ones, and a completed intent whose serial has no
//     certificate (one imported, or completed by hand): a few pages, which
//     a commit's creations and completions share;
//   - a completed intent whose certificate is recorded lives in
//     intents_done under that certificate's issuance sequence number
//     (seqKey of IssuanceSeq), where each commit's completions append to
//     the last leaf. GetIntent finds it through the certificate.
//
// What the store keeps is unchanged (GetIntent, Intents and OpenIntents
// give the answers they gave before); OpenIntents, read at every start,
// scans only the intents bucket; GetIntent of a completed intent reads its
// certificate first, and the export (Intents) reads the certificates too.
// A file of layout 2 (or one store/migrate wrote) keeps its completed
// intents in the intents bucket, where every read still finds them, until
// Open moves them (moveCompletedIntents).

// CreateIntent records an open intent. A serial held by any intent or
// certificate, whatever its state, fails with ErrDuplicateSerial: serials
// are never reused. (A completed intent in intents_done has a
// certificate, so the certificate check covers it.)
func (t *tx) CreateIntent(in store.Intent) error {
	if err := t.write("create intent"); err != nil {
		return err
	}
	in, err := check.Intent(in)
	if err != nil {
		return fmt.Errorf("bolt: create intent: %w", err)
	}
	k := []byte(in.Serial)
	if t.bucket(bIntents).Get(k) != nil {
		return fmt.Errorf("bolt: create intent %s: an intent holds it: %w", in.Serial, store.ErrDuplicateSerial)
	}
	if t.bucket(bCerts).Get(k) != nil {
		return fmt.Errorf("bolt: create intent %s: a certificate holds it: %w", in.Serial, store.ErrDuplicateSerial)
	}
	return t.put(bIntents, k, in)
}

// GetIntent returns the intent for serial, or ErrNotFound.
func (t *tx) GetIntent(serial string) (store.Intent, error) {
	if err := t.read(); err != nil {
		return store.Intent{}, err
	}
	in, _, err := t.locateIntent(serial)
	return in, err
}

// SetIntentState changes an existing intent's state (ErrNotFound), and
// moves it to where an intent in that state lives.
func (t *tx) SetIntentState(serial string, state store.IntentState) error {
	if err := t.write("set intent state"); err != nil {
		return err
	}
	if err := check.IntentState(state); err != nil {
		return fmt.Errorf("bolt: set intent %s: %w", serial, err)
	}
	in, from, err := t.locateIntent(serial)
	if err != nil {
		return err
	}
	in.State = state
	var to []byte // the key in intents_done; nil: the intents bucket
	if state == store.IntentCompleted {
		if to, err = t.doneKey(serial); err != nil {
			return err
		}
	}
	// Written where it now lives first, then taken from where it was, so
	// that a failure between the two (which fails the transaction) never
	// leaves it in neither.
	if to == nil {
		if err := t.put(bIntents, []byte(serial), in); err != nil {
			return err
		}
		if from != nil {
			return t.del(bIntentsDone, from, serial)
		}
		return nil
	}
	if err := t.put(bIntentsDone, to, in); err != nil {
		return err
	}
	if from == nil {
		return t.del(bIntents, []byte(serial), serial)
	}
	return nil
}

// del deletes key from bucket, for SetIntentState's move of serial.
func (t *tx) del(bucket, key []byte, serial string) error {
	if err := t.bucket(bucket).Delete(key); err != nil {
		return fmt.Errorf("bolt: set intent %s: %w", serial, err)
	}
	return nil
}

// locateIntent returns serial's intent and, if it is in intents_done, its
// key there (nil: the intents bucket), or ErrNotFound.
func (t *tx) locateIntent(serial string) (in store.Intent, doneAt []byte, err error) {
	if v := t.bucket(bIntents).Get([]byte(serial)); v != nil {
		if err := decode(v, &in); err != nil {
			return in, nil, fmt.Errorf("bolt: intent %q: %w", serial, err)
		}
		return in, nil, nil
	}
	k, err := t.doneKey(serial)
	if err != nil {
		return in, nil, err
	}
	var v []byte
	if k != nil {
		v = t.bucket(bIntentsDone).Get(k)
	}
	if v == nil {
		return in, nil, fmt.Errorf("bolt: intent %q: %w", serial, store.ErrNotFound)
	}
	if err := decodeDone(k, v, &in); err != nil {
		return in, nil, err
	}
	if in.Serial != serial {
		return in, nil, fmt.Errorf("bolt: intent %q: intents_done %x holds serial %q: %w", serial, k, in.Serial, store.ErrCorrupt)
	}
	return in, k, nil
}

// doneKey is where serial's completed intent lives in intents_done: its
// certificate's issuance sequence number, or nil if serial has no
// certificate or its certificate no number (a file Open has not numbered
// yet: the intent then stays in the intents bucket, as before layout 3).
func (t *tx) doneKey(serial string) ([]byte, error) {
	data := t.bucket(bCerts).Get([]byte(serial))
	if data == nil {
		return nil, nil
	}
	seq, err := issuanceSeqOf(data)
	if err != nil {
		return nil, fmt.Errorf("bolt: certificate %q: %w", serial, err)
	}
	if seq == 0 {
		return nil, nil
	}
	return seqKey(seq), nil
}

// decodeDone decodes intents_done's record at k.
func decodeDone(k, v []byte, in *store.Intent) error {
	if err := decode(v, in); err != nil {
		return fmt.Errorf("bolt: intents_done %x: %w", k, err)
	}
	return nil
}

// OpenIntents returns every open intent, ordered by serial. It scans the
// intents bucket, which holds the intents in flight and the failed ones
// but no completed intent of a recorded certificate: open intents are the
// crash-recovery work list, read at start-up.
func (t *tx) OpenIntents() ([]store.Intent, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	var out []store.Intent
	err := t.bucket(bIntents).ForEach(func(k, v []byte) error {
		var in store.Intent
		if err := decode(v, &in); err != nil {
			return fmt.Errorf("bolt: intent %q: %w", k, err)
		}
		if in.State == store.IntentOpen {
			out = append(out, in)
		}
		return nil
	})
	return out, err
}

// Intents returns intents of every state after a serial, by serial: the
// intents bucket's merged with the completed intents of intents_done,
// which are found through the certificates bucket (in serial order). The
// certificates are read only up to the last intent returned, so a page
// costs the certificates within its range however the intents are spread
// between the two buckets (a file copied by store/migrate, or of layout
// 2, keeps every completed intent in the intents bucket).
func (t *tx) Intents(after string, limit int) ([]store.Intent, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("bolt: intents: %w", err)
	}
	from := func(c *bbolt.Cursor) ([]byte, []byte) {
		k, v := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
		return k, v
	}
	done := t.bucket(bIntentsDone)
	var out []store.Intent
	ic, cc := t.bucket(bIntents).Cursor(), t.bucket(bCerts).Cursor()
	ik, iv := from(ic)
	ck, cv := from(cc)
	var dk []byte // ck's completed intent's key in intents_done, once found
	for limit == 0 || len(out) < limit {
		// Step the certificates to the next one with a completed intent
		// in intents_done, but not past the next key of the intents
		// bucket: one before it would come first.
		for dk == nil && ck != nil && (ik == nil || bytes.Compare(ck, ik) <= 0) {
			seq, err := issuanceSeqOf(cv)
			if err != nil {
				return nil, fmt.Errorf("bolt: certificate %q: %w", ck, err)
			}
			if k := seqKey(seq); seq != 0 && done.Get(k) != nil {
				dk = k
				break
			}
			ck, cv = cc.Next()
		}
		var in store.Intent
		switch {
		case dk == nil && ik == nil:
			return out, nil
		case dk != nil && ik != nil && bytes.Equal(ck, ik):
			return nil, fmt.Errorf("bolt: intent %q is in both intents and intents_done: %w", ik, store.ErrCorrupt)
		case dk != nil && (ik == nil || bytes.Compare(ck, ik) < 0):
			if err := decodeDone(dk, done.Get(dk), &in); err != nil {
				return nil, err
			}
			if in.Serial != string(ck) {
				return nil, fmt.Errorf("bolt: intents_done %x holds serial %q, not its certificate's %q: %w", dk, in.Serial, ck, store.ErrCorrupt)
			}
			ck, cv = cc.Next()
			dk = nil
		default:
			if err := decode(iv, &in); err != nil {
				return nil, fmt.Errorf("bolt: intent %q: %w", ik, err)
			}
			ik, iv = ic.Next()
		}
		out = append(out, in)
	}
	return out, nil
}

// intentMoveBatch is how many intents one of moveCompletedIntents'
// transactions moves: its dirty pages stay in memory until it commits.
const intentMoveBatch = 10_000

// moveCompletedIntents moves every completed intent that is still in the
// intents bucket although its certificate is recorded (a file of layout
// 2, or one store/migrate copied, which imports intents before
// certificates) to intents_done, batch at a time, each batch one
// transaction. Reads find an intent in either place, so a crash between
// batches leaves a file as correct as before, and the next Open carries
// on; once done, it only reads the intents bucket, which then holds the
// intents in flight and the failed ones. Open runs it, so that the
// intents bucket is small again before the first issuance (a file of a
// million issuances: 100 transactions, once).
func moveCompletedIntents(db *bbolt.DB, batch int) error {
	if batch <= 0 { // tests: a file kept as it is
		return nil
	}
	var after []byte
	for {
		var end bool
		err := db.Update(func(btx *bbolt.Tx) error {
			t := &tx{btx: btx, writable: true}
			defer t.finish()
			type move struct{ key, doneAt, val []byte }
			var moves []move
			c := btx.Bucket(bIntents).Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(moves) < batch; k, v = c.Next() {
				after = append(after[:0], k...)
				var in store.Intent
				if err := decode(v, &in); err != nil {
					return fmt.Errorf("intent %q: %w", k, err)
				}
				if in.State != store.IntentCompleted {
					continue
				}
				at, err := t.doneKey(string(k))
				if err != nil {
					return err
				}
				if at == nil { // no certificate, or one not numbered: it stays
					continue
				}
				moves = append(moves, move{bytes.Clone(k), at, bytes.Clone(v)})
			}
			end = k == nil
			done := btx.Bucket(bIntentsDone)
			for _, m := range moves { // after the walk: a write moves the cursor's pages
				if done.Get(m.doneAt) != nil {
					continue // in both places: left for the reads to report (ErrCorrupt), not the store's Open to fail
				}
				if err := done.Put(m.doneAt, m.val); err != nil {
					return err
				}
				if err := btx.Bucket(bIntents).Delete(m.key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("moving completed intents to intents_done: %w", err)
		}
		if end {
			return nil
		}
	}
}
