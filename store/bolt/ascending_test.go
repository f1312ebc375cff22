package bolt

import (
	"fmt"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// TestAscending: ascending.get answers what Bucket.Get answers for keys
// in every order it meets: dense and sparse ascending runs, repeats,
// keys between and beyond the stored ones, and going back.
func TestAscending(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "a.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := func(i int) []byte { return fmt.Appendf(nil, "%04d", i) }
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := 0; i < 2000; i += 2 { // even keys only
			if err := b.Put(key(i), fmt.Appendf(nil, "v%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seq := func(from, n, step int) (out []int) {
		for i := range n {
			out = append(out, from+i*step)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		keys []int
	}{
		{"dense", seq(0, 200, 2)},
		{"every key, odd ones missing", seq(0, 400, 1)},
		{"sparse", seq(0, 50, 38)},
		{"descending", seq(1998, 1000, -2)},
		{"repeats", []int{4, 4, 4, 6, 6, 5, 5, 8}},
		{"beyond the last", []int{1996, 1998, 1999, 2000, 2002, 0}},
		{"before the first", []int{-1, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.View(func(tx *bbolt.Tx) error {
				b := tx.Bucket([]byte("b"))
				a := ascending{c: b.Cursor()}
				for _, i := range tc.keys {
					k := key(i)
					if got, want := a.get(k), b.Get(k); string(got) != string(want) || (got == nil) != (want == nil) {
						t.Fatalf("get %s = %q, Bucket.Get %q", k, got, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
