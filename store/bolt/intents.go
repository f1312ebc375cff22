package bolt

import (
	"fmt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// CreateIntent records an open intent. A serial held by any intent or
// certificate, whatever its state, fails with ErrDuplicateSerial: serials
// are never reused.
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
	var in store.Intent
	if err := t.read(); err != nil {
		return in, err
	}
	err := t.get(bIntents, serial, "intent", &in)
	return in, err
}

// SetIntentState changes an existing intent's state (ErrNotFound).
func (t *tx) SetIntentState(serial string, state store.IntentState) error {
	if err := t.write("set intent state"); err != nil {
		return err
	}
	if err := check.IntentState(state); err != nil {
		return fmt.Errorf("bolt: set intent %s: %w", serial, err)
	}
	var in store.Intent
	if err := t.get(bIntents, serial, "intent", &in); err != nil {
		return err
	}
	in.State = state
	return t.put(bIntents, []byte(serial), in)
}

// OpenIntents returns every open intent, ordered by serial. It scans the
// intents bucket: open intents are the crash-recovery work list, read at
// start-up, and a completed intent is small.
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
