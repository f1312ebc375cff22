package raserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/certcmd"
	"github.com/smki/smki/internal/cputime"
	"github.com/smki/smki/ra/ownpki"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// BenchmarkRevokePartyHTTPS (issue 20): a party's bulk revocation as
// `smki revoke --party P --reason 5 --yes` makes it (the CLI's revoke verb,
// cli/certcmd, run in-process with its flags: credential read from disk,
// raclient, mTLS over real HTTPS, the progress streamed, the summary
// printed), against BenchmarkRevokeParty100k's work in the same run on the
// same store: another party's certificates listed and revoked by
// ca.RevokeTx in one transaction, ORL reissued. Each party holds
// revokePartyN certificates (store records, made untimed). On
// PostgreSQL each timed part starts settled (pgtest.Settle: vacuumed,
// analysed, checkpointed), so that none meets autovacuum, stale planner
// statistics or a checkpoint the part before it left behind. A third
// party's are revoked first, untimed, so that no timed run is the store's
// first; then the baseline, the CLI, and the baseline again on a fourth
// party, the two baselines counting half each (the ORL grows with each
// revocation: the CLI's is between theirs). The env's clock is the wall clock's, as the CLI checks the
// server's certificate at it. Metrics: revocations/s (CLI),
// baseline-revocations/s, cli/baseline (the time ratio; goal: at most
// 1.2), cli/baseline-cpu (this process's CPU time, server and CLI
// together, which other load on the machine does not swing; PostgreSQL's
// own is not in it), progress-lines (NDJSON lines the server wrote before
// the result) and stream-bytes (the whole answer). On bbolt and
// PostgreSQL (a schema of its own; skipped without a server, as pgtest
// says). Run with -benchtime=1x.
func BenchmarkRevokePartyHTTPS(b *testing.B) {
	for _, engine := range []string{"bolt", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var cli, base, cliCPU, baseCPU time.Duration
			var lines, streamed int64
			for range b.N {
				b.StopTimer()
				var open func(string) (store.Store, error) // nil: bbolt
				settle := func() {}                        // before each timed part
				if engine == "postgres" {
					url := pgtest.SchemaURL(b)
					open = func(string) (store.Store, error) { return postgres.Open(context.Background(), url) }
					settle = func() { pgtest.Settle(b, url) }
				}
				s := scenarioOf(newEnvAt(b, true, open, time.Now().UTC().Truncate(time.Second)))
				var count streamCount
				ts := startServerWrapped(b, s.env, count.wrap)
				officer := filepath.Join(b.TempDir(), "sro-a")
				if err := ownpki.WriteCredential(officer, s.cred["sro-a"]); err != nil {
					b.Fatal(err)
				}
				putPartyCerts(b, s, s.userIS, s.supplier, role.ImportSupplier, "7d")
				putPartyCerts(b, s, s.userSC, s.srp, role.SoLRContingency, "7e")
				warm := s.party("90-B3-D5-1F-30-00-00-21", "Warm-up")
				putPartyCerts(b, s, s.user("90-B3-D5-1F-30-01-00-21", warm, role.ImportSupplier), warm, role.ImportSupplier, "7c")
				after := s.party("90-B3-D5-1F-30-00-00-22", "Baseline after")
				putPartyCerts(b, s, s.user("90-B3-D5-1F-30-01-00-22", after, role.ImportSupplier), after, role.ImportSupplier, "7b")
				ctx := context.Background()

				// The baseline: BenchmarkRevokeParty100k's transaction.
				revokeAll := func(party eui64.ID) error {
					return s.st.Update(ctx, func(tx store.Tx) error {
						certs, err := tx.ListCertificates(store.CertFilter{PartyID: party.String(), Status: store.StatusGood})
						if err != nil {
							return err
						}
						serials := make([]string, len(certs))
						for i, c := range certs {
							serials[i] = c.Serial
						}
						_, err = s.ca.RevokeTx(tx, serials, 5, time.Time{})
						return err
					})
				}
				// A store's first bulk revocation costs more than the next
				// (on bbolt, CPU cli/baseline was 0.72-0.86 with the
				// baseline first and 1.12-1.26 with the CLI first): one
				// untimed, so that neither timed run is the first.
				if err := revokeAll(warm); err != nil {
					b.Fatal(err)
				}
				// The baseline runs before and after the CLI, each counting
				// half: the ORL reissued grows by revokePartyN with each
				// revocation, and the CLI's is between the two.
				baseline := func(party eui64.ID) {
					settle()
					start, cpu0 := time.Now(), cputime.Process()
					err := revokeAll(party)
					base, baseCPU = base+time.Since(start)/2, baseCPU+(cputime.Process()-cpu0)/2
					if err != nil {
						b.Fatal(err)
					}
				}
				baseline(s.srp)

				var stdout, stderr strings.Builder
				app := &ucli.App{Name: "smki", Writer: &stdout, ErrWriter: &stderr, Commands: []*ucli.Command{certcmd.RevokeCommand()},
					ExitErrHandler: func(*ucli.Context, error) {}}
				args := []string{"smki", "revoke", "--party", s.supplier.String(), "--reason", "cessationOfOperation", "--yes",
					"--ra", ts.URL, "--officer", officer}
				settle()
				b.StartTimer()
				start, cpu0 := time.Now(), cputime.Process()
				err := app.RunContext(ctx, args)
				cli, cliCPU = cli+time.Since(start), cliCPU+cputime.Process()-cpu0
				b.StopTimer()
				if want := fmt.Sprintf("revoked %d certificate(s) (cessationOfOperation)", revokePartyN); err != nil || !strings.Contains(stdout.String(), want) {
					b.Fatalf("smki %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args[1:], " "), err, stdout.String(), stderr.String())
				}
				lines += count.lines.Load() - 1 // the result line
				streamed += count.bytes.Load()
				baseline(after)
			}
			b.ReportMetric(float64(revokePartyN*b.N)/cli.Seconds(), "revocations/s")
			b.ReportMetric(float64(revokePartyN*b.N)/base.Seconds(), "baseline-revocations/s")
			b.ReportMetric(cli.Seconds()/base.Seconds(), "cli/baseline")
			b.ReportMetric(cliCPU.Seconds()/baseCPU.Seconds(), "cli/baseline-cpu")
			b.ReportMetric(float64(lines)/float64(b.N), "progress-lines")
			b.ReportMetric(float64(streamed)/float64(b.N), "stream-bytes")
		})
	}
}

// streamCount counts the lines and bytes of the NDJSON answers a server
// writes (wrap is its handler's wrapper).
type streamCount struct{ lines, bytes atomic.Int64 }

func (c *streamCount) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&countingWriter{ResponseWriter: w, c: c}, r)
	})
}

type countingWriter struct {
	http.ResponseWriter
	c *streamCount
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.Header().Get("Content-Type") == raapi.MediaNDJSON {
		w.c.lines.Add(int64(bytes.Count(p, []byte{'\n'})))
		w.c.bytes.Add(int64(len(p)))
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController flush and set deadlines through it.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// revokePartyN is the party size of BenchmarkRevokePartyHTTPS.
const revokePartyN = 100_000

// putPartyCerts stores revokePartyN certificates of user (of role r) in
// party as records (serials prefix then a counter), in batches.
func putPartyCerts(b *testing.B, s *scenario, user, party eui64.ID, r role.UserRole, prefix string) {
	b.Helper()
	for done := 0; done < revokePartyN; done += 10_000 {
		err := s.st.Update(context.Background(), func(tx store.Tx) error {
			for j := done; j < min(done+10_000, revokePartyN); j++ {
				if err := tx.PutCertificate(store.Certificate{Serial: fmt.Sprintf("%s%030x", prefix, j), Issuer: ca.IssuerIssuing,
					UserID: user.String(), PartyID: party.String(), Profile: string(ca.XMLSigning), Role: string(r),
					NotBefore: s.clock.Now().Add(-time.Hour), NotAfter: s.clock.Now().AddDate(1, 0, 0), IssuedAt: s.clock.Now(),
					DER: []byte{0x30, 0}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
