package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/postgres"
)

// benchEngines opens a fresh store of each engine for a benchmark; the
// PostgreSQL one skips (or fails under SMKI_REQUIRE_POSTGRES=1) without a
// server.
var benchEngines = []struct {
	name string
	open func(b *testing.B, dir string) store.Store
}{
	{"bbolt", func(b *testing.B, dir string) store.Store {
		st, err := bolt.Open(filepath.Join(dir, "smki.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(b *testing.B, _ string) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.SchemaURL(b), postgres.WithPoolConfig(benchBackends.Watch))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

// benchBackends are the PostgreSQL backends the benchmarks' stores
// connected to, for their CPU time.
var benchBackends pgtest.Backends

// signBaselineCPU is one raw ECDSA P-256 signature in ns, the in-run
// floor, and the process CPU time one signature took, in ns.
func signBaselineCPU(b *testing.B) (wall, cpu float64) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := sha256.Sum256([]byte("baseline"))
	const n = 300
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < n; i++ {
		if _, err := ecdsa.SignASN1(rand.Reader, key, h[:]); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n, float64(processCPU()-cpu0) / n
}

// processCPU is this process's user and system CPU time so far, in ns. A
// CPU-time ratio holds on a machine whose other load makes wall-clock
// ratios swing, since other processes' load does not count in it.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// commitBaseline is one durable commit of a one-key transaction on st, in
// ns, alone: the storage floor of an issuance's two commits.
func commitBaseline(b *testing.B, st store.Store) float64 {
	const n = 30
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutMeta("bench/commit", []byte{byte(i)}) }); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// countingStore counts the read-write transactions run through Update:
// with the CA's group commit, one per shared transaction.
type countingStore struct {
	store.Store
	updates atomic.Int64
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

// BenchmarkDurableIssue: CSR to recorded certificate, each issuance two
// committed (fsynced) transactions (intent, then record; concurrent
// issuances share them by group commit), on each engine, one at a time
// and from 8 goroutines per CPU. It reports issuances per second and the
// cost per issuance as a multiple of one raw ECDSA signature (the CPU
// floor, x-ecdsa-sign) and of one lone durable commit on the same store
// (the storage floor, x-commit: below 2 means issuances share commits),
// both measured in the same run, before and after the timed part (the
// smaller of the two: other load on the machine only inflates them). It
// also reports this process's CPU time per issuance over that of one
// signature (cpu-x-ecdsa-sign; PostgreSQL's own CPU is not in it), the
// figure that holds on a shared machine (also as microseconds,
// cpu-us/issue), PostgreSQL's CPU time per issuance when the server runs
// on this machine (pg-cpu-us/issue: its backends for the benchmark's
// store, from /proc; not the WAL writer's or checkpointer's), and how many
// of the issuances' writes (two each: intent, record) one committed transaction carried on
// average (writes/commit: 1 means no sharing).
func BenchmarkDurableIssue(b *testing.B) {
	for _, eng := range benchEngines {
		for _, par := range []int{0, 8} {
			name := eng.name + "/serial"
			if par > 0 {
				name = fmt.Sprintf("%s/parallel%d", eng.name, par)
			}
			b.Run(name, func(b *testing.B) {
				dir := b.TempDir()
				benchBackends.Reset()
				counted := &countingStore{Store: eng.open(b, dir)}
				e := newEnvOn(b, counted, dir, "")
				ctx := context.Background()
				sign, signCPU := signBaselineCPU(b)
				commit := commitBaseline(b, e.st)
				reqs := make([]IssueRequest, b.N)
				for i := range reqs {
					_, csr := newCSR(b, nil)
					id := eui64.ID{0x90, 0xB3, byte(i >> 40), byte(i >> 32), byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
					reqs[i] = issueReq(csr, XMLSigning, id, partySRP, role.SoLRContingency)
				}
				b.ResetTimer()
				cpu0, updates0 := processCPU(), counted.updates.Load()
				pg0, _ := benchBackends.CPU()
				if par == 0 {
					for i := 0; i < b.N; i++ {
						if _, _, err := e.ca.Issue(ctx, reqs[i]); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					var next atomic.Int64
					b.SetParallelism(par)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, _, err := e.ca.Issue(ctx, reqs[next.Add(1)-1]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				perIssue := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				cpuPerIssue := float64(processCPU()-cpu0) / float64(b.N)
				pg1, pgOK := benchBackends.CPU()
				commits := counted.updates.Load() - updates0
				sign2, signCPU2 := signBaselineCPU(b)
				sign, signCPU = min(sign, sign2), min(signCPU, signCPU2)
				commit = min(commit, commitBaseline(b, e.st))
				b.ReportMetric(cpuPerIssue/signCPU, "cpu-x-ecdsa-sign")
				b.ReportMetric(cpuPerIssue/1e3, "cpu-us/issue")
				if pgOK && eng.name == "postgres" {
					b.ReportMetric(float64((pg1-pg0).Microseconds())/float64(b.N), "pg-cpu-us/issue")
				}
				b.ReportMetric(1e9/perIssue, "issues/s")
				b.ReportMetric(perIssue/sign, "x-ecdsa-sign")
				b.ReportMetric(perIssue/commit, "x-commit")
				b.ReportMetric(float64(2*b.N)/float64(max(commits, 1)), "writes/commit")
			})
		}
	}
}

// revokeN is the size of the bulk revocation benchmark.
const revokeN = 100_000

// BenchmarkRevokeParty100k: revoke every one of 100,000 certificates of
// one party in one transaction with the ORL (listing all of them)
// reissued in it, through the CA's RevokeTx, on each engine. The
// certificates are written directly (their DER is not parsed on this
// path). It reports the ratio to writing the same 100,000 records in one
// transaction, measured in the same run (x-insert). Untimed, it checks
// the first ORL it reissues lists exactly the store's revocations, passes
// zlint and openssl crl -verify. cpu-ms is this process's CPU time for
// the timed part (PostgreSQL's own is not in it), the figure that holds
// on a shared machine. Run with -benchtime=1x:
// each iteration rebuilds its 100,000 certificates outside the timer.
func BenchmarkRevokeParty100k(b *testing.B) {
	for _, eng := range benchEngines {
		b.Run(eng.name, func(b *testing.B) {
			ctx := context.Background()
			var insert time.Duration
			var cpu int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				e := newEnvOn(b, eng.open(b, dir), dir, "")
				party := eui64.MustParse("90-B3-D5-1F-30-00-00-0A").String()
				serials := make([]string, revokeN)
				start := time.Now()
				err := e.st.Update(ctx, func(tx store.Tx) error {
					for j := range serials {
						serials[j] = fmt.Sprintf("7a%030x", j)
						if err := tx.PutCertificate(store.Certificate{Serial: serials[j], Issuer: IssuerIssuing,
							UserID: "90-B3-D5-1F-30-01-00-00", PartyID: party, Profile: string(XMLSigning), Role: "IS",
							NotBefore: testStart, NotAfter: testStart.AddDate(1, 0, 0), IssuedAt: testStart, DER: []byte{0x30, 0}}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				insert += time.Since(start)
				b.StartTimer()
				cpu0 := processCPU()
				var crl store.CRL
				err = e.st.Update(ctx, func(tx store.Tx) error {
					certs, err := tx.ListCertificates(store.CertFilter{PartyID: party, Status: store.StatusGood})
					if err != nil {
						return err
					}
					if len(certs) != revokeN {
						return fmt.Errorf("%d certificates of the party, want %d", len(certs), revokeN)
					}
					if _, err := e.ca.RevokeTx(tx, serials, 5, time.Time{}); err != nil {
						return err
					}
					crl, err = tx.GetCRL(ORL)
					return err
				})
				b.StopTimer()
				cpu += processCPU() - cpu0
				if err != nil {
					b.Fatal(err)
				}
				if len(crl.DER) < revokeN*20 {
					b.Fatalf("ORL of %d bytes cannot list %d certificates", len(crl.DER), revokeN)
				}
				if i == 0 {
					// Untimed: the assembled ORL is the one a build from
					// scratch makes, lint-clean and openssl-readable.
					checkORLEntries(b, e, crl.DER, "after revoking the party")
					checkORLWhole(b, e, crl.DER)
				}
			}
			per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(revokeN*1e9/per, "revocations/s")
			b.ReportMetric(per/(float64(insert.Nanoseconds())/float64(b.N)), "x-insert")
			b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms")
		})
	}
}
