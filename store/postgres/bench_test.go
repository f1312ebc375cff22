package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
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

// BenchmarkIssueGroups: the issuance writes of store.Grouper's group
// transactions at fixed group sizes, on one connection: each iteration is
// one transaction writing the intents of n issuances and the records of
// the previous group's n (store.WriteIssuance), as the CA's group commit
// does under load. It reports the database's CPU time per issuance when
// the server runs on this machine (pg-cpu-us/issue: the backend's, from
// /proc), this process's (cpu-us/issue) and the time per group
// transaction; across sizes, the CPU that is per transaction (BEGIN,
// plans, COMMIT and its fsync) against the CPU per row.
//
// In the audited cases each record also appends an audit entry, as an
// enrolment through the RA does (store.AppendAudits, as store.Grouper
// writes them).
func BenchmarkIssueGroups(b *testing.B) {
	for _, c := range []struct {
		n       int
		audited bool
	}{{1, false}, {4, false}, {16, false}, {4, true}} {
		n := c.n
		name := fmt.Sprintf("group%d", n)
		if c.audited {
			name += "/audited"
		}
		b.Run(name, func(b *testing.B) {
			var be pgtest.Backends
			s, err := postgres.Open(context.Background(), schemaURL(b), postgres.WithPoolConfig(func(c *pgxpool.Config) {
				c.MaxConns = 1
				be.Watch(c)
			}))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			der := make([]byte, 720) // about a certificate's, and its lint certificate's
			rand.Read(der)
			type item struct{ serial, user, key string }
			fresh := func() []item {
				it := make([]item, n)
				for i := range it {
					it[i] = item{benchSerial(), "U-" + benchSerial(), benchSerial() + benchSerial()}
				}
				return it
			}
			group := func(cur, prev []item) error {
				ins := make([]store.NewIntent, len(cur))
				for i, c := range cur {
					ins[i] = store.NewIntent{KeyHash: c.key, Intent: store.Intent{Serial: c.serial, Issuer: "issuing-ca",
						Profile: "xml-signing", UserID: c.user, LintDER: der, CreatedAt: benchAt, State: store.IntentOpen}}
				}
				recs := make([]store.Certificate, len(prev))
				for i, c := range prev {
					recs[i] = benchCert(c.serial, c.user, "P")
					recs[i].KeyHash, recs[i].DER = c.key, der
				}
				return s.Update(ctx, func(tx store.Tx) error {
					insErrs, recErrs, err := store.WriteIssuance(tx, ins, recs)
					if err != nil {
						return err
					}
					for _, e := range append(insErrs, recErrs...) {
						if e != nil {
							return e
						}
					}
					if !c.audited || len(recs) == 0 {
						return nil
					}
					audits := make([]store.AuditEntry, len(recs))
					for i, r := range recs {
						audits[i] = store.AuditEntry{Time: benchAt, Actor: "ra", Action: "enrol", Subject: r.Serial, Result: "allowed", Detail: r.UserID}
					}
					return store.AppendAudits(tx, audits)
				})
			}
			var prev []item
			for range 10 { // warm: plans cached, tables not empty
				cur := fresh()
				if err := group(cur, prev); err != nil {
					b.Fatal(err)
				}
				prev = cur
			}
			groups := make([][]item, b.N)
			for i := range groups {
				groups[i] = fresh()
			}
			b.ResetTimer()
			pg0, _ := be.CPU()
			cpu0 := processCPU()
			for i := range b.N {
				if err := group(groups[i], prev); err != nil {
					b.Fatal(err)
				}
				prev = groups[i]
			}
			b.StopTimer()
			issues := float64(b.N * n)
			if pg1, ok := be.CPU(); ok {
				b.ReportMetric(float64((pg1-pg0).Microseconds())/issues, "pg-cpu-us/issue")
			}
			b.ReportMetric(float64(processCPU()-cpu0)/1e3/issues, "cpu-us/issue")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/group")
		})
	}
}

// processCPU is this process's CPU time (user and system) so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
