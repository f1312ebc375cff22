package bolt

import (
	"bytes"
	"fmt"

	"github.com/smki/smki/store"
)

// Generic records live in bRecords, one nested bucket per kind, so a
// listing of one kind is a cursor walk over that kind alone.

func checkRecordKey(kind, id string) error {
	if !store.ValidRecordKey(kind) || !store.ValidRecordKey(id) {
		return fmt.Errorf("bolt: record %q/%q: kind and ID must be 1-255 NUL-free bytes: %w", kind, id, store.ErrInvalid)
	}
	return nil
}

func (t *tx) PutRecord(kind, id string, value []byte) error {
	if err := t.write("put record"); err != nil {
		return err
	}
	if err := checkRecordKey(kind, id); err != nil {
		return err
	}
	b, err := t.bucket(bRecords).CreateBucketIfNotExists([]byte(kind))
	if err != nil {
		return fmt.Errorf("bolt: record kind %q: %w", kind, err)
	}
	if value == nil {
		value = []byte{}
	}
	if err := b.Put([]byte(id), value); err != nil {
		return fmt.Errorf("bolt: put record %q/%q: %w", kind, id, err)
	}
	return nil
}

func (t *tx) GetRecord(kind, id string) ([]byte, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkRecordKey(kind, id); err != nil {
		return nil, err
	}
	var v []byte
	if b := t.bucket(bRecords).Bucket([]byte(kind)); b != nil {
		v = b.Get([]byte(id))
	}
	if v == nil {
		return nil, fmt.Errorf("bolt: record %q/%q: %w", kind, id, store.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (t *tx) DeleteRecord(kind, id string) error {
	if err := t.write("delete record"); err != nil {
		return err
	}
	if err := checkRecordKey(kind, id); err != nil {
		return err
	}
	b := t.bucket(bRecords).Bucket([]byte(kind))
	if b == nil || b.Get([]byte(id)) == nil {
		return fmt.Errorf("bolt: record %q/%q: %w", kind, id, store.ErrNotFound)
	}
	if err := b.Delete([]byte(id)); err != nil {
		return fmt.Errorf("bolt: delete record %q/%q: %w", kind, id, err)
	}
	return nil
}

func (t *tx) ListRecords(kind, after string, limit int) ([]store.Record, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if !store.ValidRecordKey(kind) || limit < 0 {
		return nil, fmt.Errorf("bolt: list records %q: %w", kind, store.ErrInvalid)
	}
	b := t.bucket(bRecords).Bucket([]byte(kind))
	if b == nil {
		return nil, nil
	}
	var out []store.Record
	c := b.Cursor()
	k, v := c.First()
	if after != "" {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		out = append(out, store.Record{Kind: kind, ID: string(k), Value: bytes.Clone(v)})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}
