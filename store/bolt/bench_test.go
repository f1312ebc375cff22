package bolt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

var benchAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func benchSerial(b *testing.B) string {
	var x [16]byte
	if _, err := rand.Read(x[:]); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(x[:])
}

func benchCert(serial, user, party string) store.Certificate {
	return store.Certificate{
		Serial: serial, Issuer: "issuing-ca", UserID: user, PartyID: party, Profile: "xml-signing", Role: "IS",
		KeyHash: serial, NotBefore: benchAt, NotAfter: benchAt.AddDate(1, 0, 0), IssuedAt: benchAt,
		DER: make([]byte, 600), // about the size of an Organisation Certificate
	}
}

// fsyncFloor measures n bare bbolt commits of one small key in a fresh
// file: the durable-commit cost every store transaction pays, measured in
// the same run so the ratio is comparable across machines.
func fsyncFloor(b *testing.B, n int) time.Duration {
	b.Helper()
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	for i := 0; i < n; i++ {
		err := db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return bk.Put([]byte(fmt.Sprint(i)), []byte("x"))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkIssuance is one certificate's store work as the CA does it:
// an Update recording the intent, then an Update recording the
// certificate, completing the intent and appending the audit entry. Each
// Update is durable (fsync). Reported as a ratio to two bare commits.
func BenchmarkIssuance(b *testing.B) {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "smki.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	serials := make([]string, b.N)
	for i := range serials {
		serials[i] = benchSerial(b)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sn := serials[i]
		user := fmt.Sprintf("U-%d", i)
		err := s.Update(ctx, func(tx store.Tx) error {
			return tx.CreateIntent(store.Intent{Serial: sn, Issuer: "issuing-ca", UserID: user, LintDER: make([]byte, 600), CreatedAt: benchAt})
		})
		if err != nil {
			b.Fatal(err)
		}
		err = s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutCertificate(benchCert(sn, user, "P")); err != nil {
				return err
			}
			if err := tx.SetIntentState(sn, store.IntentCompleted); err != nil {
				return err
			}
			_, err := tx.AppendAudit(store.AuditEntry{Time: benchAt, Actor: "ca", Action: "issue", Subject: sn, Result: "ok"})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	floor := fsyncFloor(b, 200)
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/float64(2*floor.Nanoseconds()), "x-two-bare-commits")
}

// BenchmarkRevokeParty100k revokes all 100,000 certificates of one party
// in a single Update (a SoLR event's bulk revocation): one Revoke per
// serial (loop), RevokeMany in steps of 256 as the CA calls it (many256),
// and one RevokeMany call (many). Setup is outside the timer; the baseline is one bare bbolt
// Update appending 100k sequential keys with certificate-sized values into
// a fresh file.
func BenchmarkRevokeParty100k(b *testing.B) {
	for _, mode := range revokeModes {
		b.Run(mode.name, func(b *testing.B) {
			n := benchN
			ctx := context.Background()
			var revoke, raw time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := bolt.Open(filepath.Join(b.TempDir(), fmt.Sprintf("smki-%d.db", i)))
				if err != nil {
					b.Fatal(err)
				}
				putParty(b, s, n)
				b.StartTimer()
				start := time.Now()
				err = s.Update(ctx, func(tx store.Tx) error {
					certs, err := tx.ListCertificates(store.CertFilter{PartyID: "FAILED-SUPPLIER", Status: store.StatusGood})
					if err != nil {
						return err
					}
					if len(certs) != n {
						return fmt.Errorf("listed %d certificates, want %d", len(certs), n)
					}
					serials := make([]string, len(certs))
					for j, c := range certs {
						serials[j] = c.Serial
					}
					return revokeAll(tx, serials, mode.step)
				})
				revoke += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
				raw += rawBulkWrite(b, n)
				b.StartTimer()
			}
			b.ReportMetric(float64(revoke.Nanoseconds())/float64(b.N*n), "ns/revocation")
			b.ReportMetric(float64(revoke)/float64(raw), "x-raw-bulk-write")
		})
	}
}

// revokeModes are the ways the bulk benchmark revokes a list: step is
// the serials per RevokeMany call, 0 for one Revoke per serial.
var revokeModes = []struct {
	name string
	step int
}{{"loop", 0}, {"many256", 256}, {"many", benchN}}

func revokeAll(tx store.Tx, serials []string, step int) error {
	if step == 0 {
		for _, sn := range serials {
			if _, err := tx.Revoke(sn, 9, benchAt); err != nil {
				return err
			}
		}
		return nil
	}
	for start := 0; start < len(serials); start += step {
		if _, err := tx.RevokeMany(serials[start:min(start+step, len(serials))], 9, benchAt); err != nil {
			return err
		}
	}
	return nil
}

// putParty stores n certificates of one party in batches: bbolt splits
// nodes only at commit, so one 100k-insert transaction of random keys is
// quadratic, and this is setup, not what is measured.
func putParty(b *testing.B, s store.Store, n int) {
	for done := 0; done < n; {
		batch := min(1000, n-done)
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for j := done; j < done+batch; j++ {
				if err := tx.PutCertificate(benchCert(benchSerial(b), fmt.Sprintf("U-%d", j), "FAILED-SUPPLIER")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += batch
	}
}

func rawBulkWrite(b *testing.B, n int) time.Duration {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 800)
	start := time.Now()
	err = db.Update(func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := bk.Put(fmt.Appendf(nil, "%016x", i), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// benchN is the party size of BenchmarkRevokeParty100k.
var benchN = 100_000
