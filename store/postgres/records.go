package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
)

func checkRecordKey(kind, id string) error {
	if !store.ValidRecordKey(kind) || !store.ValidRecordKey(id) {
		return fmt.Errorf("postgres: record %q/%q: kind and ID must be 1-255 NUL-free bytes: %w", kind, id, store.ErrInvalid)
	}
	return nil
}

// PutRecord stores value under (kind, id), replacing any previous value.
func (t *tx) PutRecord(kind, id string, value []byte) error {
	if err := t.write("put record"); err != nil {
		return err
	}
	if err := checkRecordKey(kind, id); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	t.dropRecords()
	_, err := t.exec("put record "+kind+"/"+id, `INSERT INTO records (kind, id, value) VALUES ($1, $2, $3)
		ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value`, kind, id, value)
	return err
}

// GetRecord returns the value under (kind, id), or ErrNotFound.
func (t *tx) GetRecord(kind, id string) ([]byte, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkRecordKey(kind, id); err != nil {
		return nil, err
	}
	if v, found, absent := t.aheadNow().record(store.RecordKey{Kind: kind, ID: id}); found || absent {
		if absent {
			return nil, fmt.Errorf("postgres: record %s/%s: %w", kind, id, store.ErrNotFound)
		}
		return v, nil
	}
	var v []byte
	if err := t.one("record "+kind+"/"+id, t.q.QueryRow(t.ctx, "SELECT value FROM records WHERE kind = $1 AND id = $2"+t.lockRow(), kind, id), &v); err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// DeleteRecord removes (kind, id), or fails with ErrNotFound.
func (t *tx) DeleteRecord(kind, id string) error {
	if err := t.write("delete record"); err != nil {
		return err
	}
	if err := checkRecordKey(kind, id); err != nil {
		return err
	}
	t.dropRecords()
	n, err := t.exec("delete record "+kind+"/"+id, "DELETE FROM records WHERE kind = $1 AND id = $2", kind, id)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: delete record %q/%q: %w", kind, id, store.ErrNotFound)
	}
	return err
}

// ListRecords returns records of kind with ID > after, by ID.
func (t *tx) ListRecords(kind, after string, limit int) ([]store.Record, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if !store.ValidRecordKey(kind) || limit < 0 {
		return nil, fmt.Errorf("postgres: list records %q: %w", kind, store.ErrInvalid)
	}
	return queryAll(t, "list records "+kind, func(row pgx.Row, r *store.Record) error {
		return row.Scan(&r.Kind, &r.ID, &r.Value)
	}, "SELECT kind, id, value FROM records WHERE kind = $1 AND id > $2 ORDER BY id LIMIT $3", kind, after, limitArg(limit))
}
