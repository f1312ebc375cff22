package bolt_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, open)
}

// TestConformanceGroupCommit runs the suite with group commit on, where
// concurrent Updates share a transaction and a failed one is re-run alone.
func TestConformanceGroupCommit(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "smki.db"), bolt.WithBatchDelay(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestSecondOpenFailsFast: flock conflicts between two open file
// descriptions even in one process, so this stands in for a second
// `smki serve` on the same file.
func TestSecondOpenFailsFast(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bolt.Open(path, bolt.WithLockTimeout(50*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, bolt.WithLockTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
	if _, err := bolt.Open(path, bolt.WithLockTimeout(0)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("zero lock timeout: got %v, want ErrInvalid", err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	err = s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutCertificate(store.Certificate{Serial: "0a", Issuer: "issuing-ca", KeyHash: "k", DER: []byte{1}}); err != nil {
			return err
		}
		if _, err := tx.Revoke("0a", 1, at); err != nil {
			return err
		}
		_, err := tx.AppendAudit(store.AuditEntry{Time: at, Action: "a"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(context.Background(), func(tx store.Tx) error {
		if seq, err := tx.RevocationSeq(); err != nil || seq != 1 {
			t.Fatalf("RevocationSeq after reopen = %d, %v", seq, err)
		}
		e, err := tx.AppendAudit(store.AuditEntry{Time: at, Action: "b"})
		if err != nil {
			return err
		}
		all, err := tx.AuditEntries(1, 0)
		if err != nil {
			return err
		}
		if e.Seq != 2 || len(all) != 2 {
			t.Fatalf("audit after reopen: seq %d, %d entries", e.Seq, len(all))
		}
		_, err = store.VerifyChain(nil, 1, all)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTamperedAuditRecordIsDetected edits one audit record's JSON in the
// bbolt file behind the store's back and checks that VerifyChain names it.
func TestTamperedAuditRecordIsDetected(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := 0; i < 5; i++ {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			_, err := tx.AppendAudit(store.AuditEntry{Time: at, Actor: "ra-1", Action: "revoke", Result: "ok"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	const victim = 3
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bbolt.Tx) error {
		b := btx.Bucket([]byte("audit"))
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], victim)
		var rec map[string]any
		if err := json.Unmarshal(b.Get(k[:]), &rec); err != nil {
			return err
		}
		rec["Result"] = "refused: E_NOT_ALLOWED" // rewrite history
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put(k[:], data)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var entries []store.AuditEntry
	err = s.View(context.Background(), func(tx store.Tx) error {
		entries, err = tx.AuditEntries(1, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries[victim-1].Result != "refused: E_NOT_ALLOWED" {
		t.Fatal("tampering did not reach the stored record")
	}
	_, err = store.VerifyChain(nil, 1, entries)
	var ce *store.ChainError
	if !errors.As(err, &ce) || ce.Seq != victim {
		t.Fatalf("VerifyChain over tampered log: got %v, want *ChainError for entry %d", err, victim)
	}
}

// TestOpenNumbersOldCertificates: a file written before the issuance
// sequence existed (no "issued" bucket, no counter, certificates without
// IssuanceSeq) gets numbers in (IssuedAt, serial) order on open, and new
// certificates carry on after them.
func TestOpenNumbersOldCertificates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smki.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	var old []store.Certificate
	err = s.Update(context.Background(), func(tx store.Tx) error {
		// Serial order (01, 02, 03) is not issue order (03, 02, 01).
		for i, serial := range []string{"03", "02", "01"} {
			c := store.Certificate{Serial: serial, Issuer: "issuing-ca", IssuedAt: at.Add(time.Duration(i) * time.Hour), DER: []byte{1}}
			old = append(old, c)
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bbolt.Tx) error { // back to the old layout
		if err := btx.DeleteBucket([]byte("issued")); err != nil {
			return err
		}
		if err := btx.Bucket([]byte("state")).Delete([]byte("issuance_seq")); err != nil {
			return err
		}
		// The old layout's records were JSON without IssuanceSeq.
		b := btx.Bucket([]byte("certs"))
		for _, c := range old {
			c.Status = store.StatusGood
			raw, err := json.Marshal(c)
			if err != nil {
				return err
			}
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return err
			}
			delete(rec, "IssuanceSeq")
			data, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(c.Serial), data); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutCertificate(store.Certificate{Serial: "04", Issuer: "issuing-ca", IssuedAt: at, DER: []byte{1}}); err != nil {
			return err
		}
		all, err := tx.CertificatesIssuedSince(0, 0)
		if err != nil {
			return err
		}
		var got []string
		for _, c := range all {
			got = append(got, fmt.Sprintf("%s:%d", c.Serial, c.IssuanceSeq))
		}
		if want := "[03:1 02:2 01:3 04:4]"; fmt.Sprint(got) != want {
			t.Errorf("after reopening an old file: %v, want %s", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
