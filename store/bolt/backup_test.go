package bolt_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/migrate"
)

// TestBackupWhileWriting: a backup taken while a writer appends audit
// entries is a bbolt file of exactly the announced size that opens as a
// store, holds a whole prefix of the writes (every entry committed before
// it, a chain that verifies) and, once writing stops, a second backup
// equals the original record for record.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendOne := func(i int) {
		err := st.Update(ctx, func(tx store.Tx) error {
			_, err := tx.AppendAudit(store.AuditEntry{Time: time.Unix(int64(i), 0).UTC(), Actor: "test", Action: "write", Subject: fmt.Sprint(i), Result: "ok"})
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	for i := range 50 {
		appendOne(i)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 50; ; i++ {
			select {
			case <-stop:
				return
			default:
				appendOne(i)
			}
		}
	}()
	backup := func(name string) string {
		var buf bytes.Buffer
		var size int64
		n, err := st.Backup(ctx, func(s int64) (io.Writer, error) { size = s; return &buf, nil })
		if err != nil || n != size || int64(buf.Len()) != n {
			t.Fatalf("Backup: n=%d size=%d len=%d err=%v", n, size, buf.Len(), err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	live := backup("live.db")
	close(stop)
	wg.Wait()
	quiet := backup("quiet.db")

	cp, err := bolt.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	var entries []store.AuditEntry
	err = cp.View(ctx, func(tx store.Tx) error {
		var err error
		entries, err = tx.AuditEntries(1, 0)
		return err
	})
	cp.Close()
	if err != nil || len(entries) < 50 {
		t.Fatalf("live backup: %d audit entries (%v), want >= 50", len(entries), err)
	}
	var prev []byte
	for i, e := range entries {
		if e.Seq != uint64(i+1) || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, store.HashAudit(e)) {
			t.Fatalf("live backup: audit entry %d breaks the chain", e.Seq)
		}
		prev = e.Hash
	}
	cq, err := bolt.Open(quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer cq.Close()
	a, err := migrate.Digest(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := migrate.Digest(ctx, cq)
	if err != nil || !slices.Equal(a, b) {
		t.Fatalf("quiet backup differs from the store: %v\n%v\n%v", err, a, b)
	}
}

// TestBackupHoldsJournalledAudits: an audited read's record (Store.Audit)
// acknowledged before a backup begins is in the copy. Such records are
// durable first in the journal beside the store (smki.db.audit), which a
// backup does not carry, and reach the bbolt file only when sealed.
func TestBackupHoldsJournalledAudits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"), bolt.WithSealDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, s := range []string{"a", "b"} {
		if err := st.Audit(ctx, store.AuditEntry{Time: time.Unix(1, 0).UTC(), Actor: "officer:x", Action: "cert.read", Subject: s, Result: "allowed"}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := st.Backup(ctx, func(int64) (io.Writer, error) { return &buf, nil }); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := bolt.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var got []string
	err = cp.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(1, 0)
		for _, e := range es {
			got = append(got, e.Subject)
		}
		return err
	})
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("the backup's audit log holds %q (%v), want the two audited reads acknowledged before it began", got, err)
	}
}
