package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// TestOpenRefusesCutShortFile: a store file cut short (a backup copied in
// part) is refused at Open with E_STORE_CORRUPT saying so, not opened:
// bbolt would read the missing pages through its memory map, and the
// process (smki serve on a restored file, smki store verify) would die of
// SIGBUS. The whole file still opens.
func TestOpenRefusesCutShortFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		err := st.Update(ctx, func(tx store.Tx) error {
			return tx.PutRecord("note", string(rune('a'+i%26))+string(rune('a'+i/26)), bytes.Repeat([]byte{byte(i)}, 2000))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var whole bytes.Buffer
	if _, err := st.Backup(ctx, func(int64) (io.Writer, error) { return &whole, nil }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, keep := range []int{whole.Len() / 2, whole.Len() - 4096} {
		p := filepath.Join(dir, "cut.db")
		if err := os.WriteFile(p, whole.Bytes()[:keep], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := bolt.Open(p)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Open of the copy cut to %d of %d bytes: %v, want E_STORE_CORRUPT", keep, whole.Len(), err)
		}
	}
	p := filepath.Join(dir, "whole.db")
	if err := os.WriteFile(p, whole.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := bolt.Open(p)
	if err != nil {
		t.Fatalf("the whole copy: %v", err)
	}
	cp.Close()
}
