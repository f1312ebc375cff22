package bolt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestLayoutVersion: Open records the layout version in the file, and a
// file whose recorded version is newer than this smki knows is refused
// with store.ErrTooNew and left byte for byte as it was.
func TestLayoutVersion(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setLayout := func(v []byte) {
		t.Helper()
		rawDB(t, path, func(btx *bbolt.Tx) error {
			st := btx.Bucket([]byte("state"))
			if got := st.Get([]byte("layout")); v == nil {
				if n, _ := binary.Uvarint(got); n != 3 {
					t.Errorf("layout version recorded %x, want 3", got)
				}
				return nil
			}
			return st.Put([]byte("layout"), v)
		})
	}
	setLayout(nil) // only checks what Open recorded
	for _, tc := range []struct {
		name string
		v    []byte
		want error
	}{
		{"newer", binary.AppendUvarint(nil, 1000), store.ErrTooNew},
		{"not a number", []byte{0xff}, store.ErrCorrupt},
	} {
		setLayout(tc.v)
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bolt.Open(path)
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: Open = %v, want %v", tc.name, err, tc.want)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("%s: a refused Open changed the file", tc.name)
		}
	}
	// An older layout (2: before intents_done) opens, and is recorded as
	// the current one.
	setLayout(binary.AppendUvarint(nil, 2))
	s, err = bolt.Open(path)
	if err != nil {
		t.Fatalf("layout 2: %v", err)
	}
	s.Close()
	setLayout(nil)
}
