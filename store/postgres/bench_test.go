package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
)

var benchAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func benchSerial() string {
	var x [16]byte
	rand.Read(x[:])
	return hex.EncodeToString(x[:])
}

func benchCert(serial, user, party string) store.Certificate {
	return store.Certificate{
		Serial: serial, Issuer: "issuing-ca", UserID: user, PartyID: party, Profile: "xml-signing", Role: "IS",
		KeyHash: serial, NotBefore: benchAt, NotAfter: benchAt.AddDate(1, 0, 0), IssuedAt: benchAt, DER: make([]byte, 600),
	}
}

// bareCommits measures n single-row INSERT commits on one connection:
// the durable-commit floor (WAL fsync plus a round trip) every store
// transaction pays, measured in the same run.
func bareCommits(b *testing.B, u string, n int) time.Duration {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE floor (k text PRIMARY KEY, v bytea)"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO floor VALUES ($1, $2)", fmt.Sprint(i), []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkIssuance: the CA's two durable transactions per certificate,
// as a ratio to two bare commits.
func BenchmarkIssuance(b *testing.B) {
	u := schemaURL(b)
	s := openURL(b, u)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sn, user := benchSerial(), fmt.Sprintf("U-%d", i)
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
	floor := bareCommits(b, u, 200)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*floor.Nanoseconds()), "x-two-bare-commits")
}

// BenchmarkRevokeParty100k revokes all certificates of one party in one
// Update, one Revoke per serial (loop), through RevokeMany in steps of
// 256 as the CA calls it (many256), and in one RevokeMany call (many).
// Setup (100k rows) is outside the timer; the baseline is one bare
// transaction updating the same 100k rows with a single UPDATE.
func BenchmarkRevokeParty100k(b *testing.B) {
	for _, mode := range []struct {
		name string
		step int // serials per RevokeMany call; 0: Revoke per serial
	}{{"loop", 0}, {"many256", 256}, {"many", benchN}} {
		b.Run(mode.name, func(b *testing.B) {
			n := benchN
			ctx := context.Background()
			var revoke, raw time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				u := schemaURL(b)
				s := openURL(b, u)
				err := s.Update(ctx, func(tx store.Tx) error {
					for j := 0; j < n; j++ {
						if err := tx.PutCertificate(benchCert(benchSerial(), fmt.Sprintf("U-%d", j), "FAILED-SUPPLIER")); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				err = s.Update(ctx, func(tx store.Tx) error {
					certs, err := tx.ListCertificates(store.CertFilter{PartyID: "FAILED-SUPPLIER", Status: store.StatusGood})
					if err != nil {
						return err
					}
					if len(certs) != n {
						return fmt.Errorf("listed %d, want %d", len(certs), n)
					}
					serials := make([]string, len(certs))
					for j, c := range certs {
						serials[j] = c.Serial
					}
					if mode.step == 0 {
						for _, sn := range serials {
							if _, err := tx.Revoke(sn, 9, benchAt); err != nil {
								return err
							}
						}
						return nil
					}
					for start := 0; start < len(serials); start += mode.step {
						if _, err := tx.RevokeMany(serials[start:min(start+mode.step, len(serials))], 9, benchAt); err != nil {
							return err
						}
					}
					return nil
				})
				revoke += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				conn, err := pgx.Connect(ctx, u)
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				if _, err := conn.Exec(ctx, "UPDATE certificates SET der = der"); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(start)
				conn.Close(ctx)
				b.StartTimer()
			}
			b.ReportMetric(float64(revoke.Nanoseconds())/float64(b.N*n), "ns/revocation")
			b.ReportMetric(float64(revoke)/float64(raw), "x-one-bulk-update")
		})
	}
}

// benchN is the party size of BenchmarkRevokeParty100k.
var benchN = 100_000
