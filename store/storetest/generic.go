package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/smki/smki/store"
)

func testRecords(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for i := range 5 {
			if err := tx.PutRecord("device", fmt.Sprintf("d%02d", i), []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		if err := tx.PutRecord("solr-event", "e1", []byte(`{"x":1}`)); err != nil {
			return err
		}
		return tx.PutRecord("device", "d02", []byte("two")) // overwrite
	})
	view(t, s, func(tx store.Tx) error {
		v, err := tx.GetRecord("device", "d02")
		if err != nil || string(v) != "two" {
			t.Errorf("GetRecord d02 = %q, %v", v, err)
		}
		if _, err := tx.GetRecord("device", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRecord missing: %v", err)
		}
		if _, err := tx.GetRecord("no-kind", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRecord missing kind: %v", err)
		}
		all, err := tx.ListRecords("device", "", 0)
		if err != nil || len(all) != 5 || all[0].ID != "d00" || all[4].ID != "d04" {
			t.Errorf("ListRecords all = %v, %v", all, err)
		}
		page, err := tx.ListRecords("device", "d01", 2)
		if err != nil || len(page) != 2 || page[0].ID != "d02" || page[1].ID != "d03" || page[0].Kind != "device" {
			t.Errorf("ListRecords page = %v, %v", page, err)
		}
		if none, err := tx.ListRecords("absent", "", 0); err != nil || len(none) != 0 {
			t.Errorf("ListRecords absent kind = %v, %v", none, err)
		}
		if err := tx.PutRecord("device", "x", nil); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("PutRecord in View: %v", err)
		}
		return nil
	})
	for _, bad := range [][2]string{{"", "x"}, {"k", ""}, {"k\x00", "x"}, {"k", string(make([]byte, 256))}} {
		err := s.Update(context.Background(), func(tx store.Tx) error { return tx.PutRecord(bad[0], bad[1], []byte("v")) })
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PutRecord(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteRecord("device", "d00") })
	err := s.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteRecord("device", "d00") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteRecord: %v", err)
	}
	// A failed transaction leaves no record behind.
	boom := errors.New("boom")
	err = s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutRecord("device", "zz", []byte("v")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetRecord("device", "zz"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("record of a failed transaction survived: %v", err)
		}
		return nil
	})
}
