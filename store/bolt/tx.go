package bolt

import (
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
)

// errTxDone: a Tx was used after its Update or View returned, which the
// store.Store contract forbids; failing beats touching unmapped memory.
var errTxDone = errors.New("bolt: transaction used after its Update or View returned")

type tx struct {
	btx      *bbolt.Tx
	writable bool
	done     bool
}

var _ store.Tx = (*tx)(nil)

func (t *tx) finish() { t.done = true }

// read guards every method; write guards every mutating one.
func (t *tx) read() error {
	if t.done {
		return errTxDone
	}
	return nil
}

func (t *tx) write(op string) error {
	if err := t.read(); err != nil {
		return err
	}
	if !t.writable {
		return fmt.Errorf("bolt: %s in a View: %w", op, store.ErrReadOnly)
	}
	return nil
}

func (t *tx) bucket(name []byte) *bbolt.Bucket { return t.btx.Bucket(name) }

// get decodes the record at key into v, or returns ErrNotFound.
func (t *tx) get(bucket []byte, key string, what string, v any) error {
	data := t.bucket(bucket).Get([]byte(key))
	if data == nil {
		return fmt.Errorf("bolt: %s %q: %w", what, key, store.ErrNotFound)
	}
	if err := decode(data, v); err != nil {
		return fmt.Errorf("bolt: %s %q: %w", what, key, err)
	}
	return nil
}

func (t *tx) put(bucket []byte, key []byte, v any) error {
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	if err := t.bucket(bucket).Put(key, data); err != nil {
		return fmt.Errorf("bolt: put %s/%q: %w", bucket, key, err)
	}
	return nil
}

// GetMeta returns the value stored under key, or ErrNotFound.
func (t *tx) GetMeta(key string) ([]byte, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	v := t.bucket(bMeta).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("bolt: meta %q: %w", key, store.ErrNotFound)
	}
	return append([]byte(nil), v...), nil
}

// PutMeta stores value (nil is stored as empty) under a non-empty key.
func (t *tx) PutMeta(key string, value []byte) error {
	if err := t.write("put meta"); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("bolt: meta key is empty: %w", store.ErrInvalid)
	}
	if value == nil {
		value = []byte{}
	}
	if err := t.bucket(bMeta).Put([]byte(key), value); err != nil {
		return fmt.Errorf("bolt: put meta %q: %w", key, err)
	}
	return nil
}
