package raserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/cputime"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/postgres"
)

// BenchmarkEnrolHTTPS (issue 20): enrolments per second through the API,
// 8 clients over HTTPS with mTLS and keep-alive (one raclient each), on a
// bbolt store with group commit, on PostgreSQL (a schema of its own;
// skipped without a server, as pgtest says), and on a bbolt store in
// memory (bolt-tmpfs: the CPU-bound case, see tmpfsDir); and, in the same
// run on the same store,
// two in-process baselines: the same enrolments made by 8 goroutines
// calling the Service, and BenchmarkDurableIssue parallel8's work (CSR ->
// linted -> signed -> recorded, ca.Issue from 8 goroutines per CPU, the
// CSR's signature checked inside Issue as there). Metrics: enrols/s
// (HTTPS), inproc-enrols/s, https/inproc (the share of the in-process
// Service's throughput the API keeps), issues/s (the DurableIssue
// baseline) and https/durable-issue, the issue's acceptance ratio (goal:
// at least 0.7). Each baseline runs before and after the HTTPS part, and
// the HTTPS part runs again after them (untimed), and of each the faster
// run is kept. CSRs are made before the timed part. It also
// reports this process's CPU time per enrolment through HTTPS (clients,
// TLS and server together: cpu-us/enrol) and per DurableIssue issuance
// (cpu-us/issue, the smaller of its two runs), and their ratio
// (cpu-issue/cpu-enrol): the share of the baseline's throughput the API
// can keep when the CPU is the limit, the figure that holds on a shared
// machine where the wall-clock ratio swings.
//
// The acceptance ratio is the product of two: https/durable-issue =
// inproc/durable-issue x https/inproc. inproc/durable-issue is the same
// enrolments with no HTTP at all, from 8 goroutines calling the Service,
// against the baseline's 8 per CPU (16 on 2 cores): what the RA and the
// smaller concurrency cost. https/inproc is what HTTPS costs on top.
//
// Two more figures say where the gap comes from. writes/commit is how
// many issuance writes (intent, record: two per enrolment or issuance)
// one committed store transaction carried on average, in the HTTPS part
// (https-writes/commit) and in the DurableIssue baseline
// (issue-writes/commit): with group commit, 8 clients fill transactions
// about half as full as the baseline's 8 goroutines per CPU, and each
// transaction costs its commit (fsyncs) whatever it carries. And the
// DurableIssue work is run once more from 8 goroutines, the clients'
// number (issues-8w/s, cpu-us/issue-8w, https/issue-8w): the baseline at
// the API's concurrency, which separates what the API itself costs from
// what smaller groups cost.
//
// Three more say which bound a part ran into. commit-busy is the share
// of a part's wall time the store's one writer spent in a commit
// (https-, issue-, inproc-commit-busy) and us/commit a commit's mean
// time (https-, issue-us/commit): near 1, a part is bound by its commits
// (their fsyncs, and the CPU inside them), and only fuller or shorter
// commits make it faster, not less CPU outside them. inproc-writes/commit
// is the in-process enrolments' group size, the same 8 callers as the
// clients without HTTP between their commits. https-handshakes counts
// the TLS handshakes the clients made in the timed part: 0 when
// keep-alive holds.
func BenchmarkEnrolHTTPS(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		benchEnrolHTTPS(b, func(dir string) (store.Store, error) { return bolt.Open(filepath.Join(dir, "smki.db")) })
	})
	b.Run("postgres", func(b *testing.B) {
		url := pgtest.SchemaURL(b)
		benchEnrolHTTPS(b, func(string) (store.Store, error) { return postgres.Open(context.Background(), url) })
	})
	b.Run("bolt-tmpfs", func(b *testing.B) {
		dir, onTmpfs := tmpfsDir(b)
		b.ReportMetric(onTmpfs, "on-tmpfs")
		benchEnrolHTTPS(b, func(string) (store.Store, error) { return bolt.Open(filepath.Join(dir, "smki.db")) })
	})
}

// tmpfsDir is a directory for the bolt-tmpfs run's store: in memory
// (/dev/shm, where fsync costs nearly nothing), so that both sides run
// into the CPU instead of the disk, and the ratio shows the CPU share of
// an enrolment against an issuance (docs/architecture.md, "The CPU
// ceiling"). Where /dev/shm is not a tmpfs it is the test's own
// directory, and on-tmpfs reports 0.
func tmpfsDir(b *testing.B) (string, float64) {
	const tmpfsMagic = 0x01021994
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &fs); err != nil || fs.Type != tmpfsMagic {
		return b.TempDir(), 0
	}
	dir, err := os.MkdirTemp("/dev/shm", "smki-bench-")
	if err != nil {
		return b.TempDir(), 0
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir, 1
}

// benchEnrolHTTPS is BenchmarkEnrolHTTPS on the store open makes.
func benchEnrolHTTPS(b *testing.B, open func(dir string) (store.Store, error)) {
	const clients = 8
	var commits *commitCounter
	s := scenarioOf(newEnvOn(b, true, func(dir string) (store.Store, error) {
		st, err := open(dir)
		commits = &commitCounter{Store: st}
		return commits, err
	}))
	ts := startServer(b, s.env)
	ctx := context.Background()
	csrs := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = ratest.CSR(b, ratest.NewKey(b), s.userIS, role.ImportSupplier, ca.XMLSigning)
		}
		return out
	}
	var cpu time.Duration // CPU time of the last run or runIssue
	run := func(n int, enrol func(worker int, csr []byte) error) time.Duration {
		work := csrs(n)
		defer func(c0 time.Duration) { cpu = cputime.Process() - c0 }(cputime.Process())
		ch := make(chan []byte, n)
		for _, c := range work {
			ch <- c
		}
		close(ch)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range clients {
			wg.Go(func() {
				for c := range ch {
					if err := enrol(w, c); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	req := func(csr []byte) ra.EnrolRequest {
		return ra.EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning, CSR: csr, Mode: ra.ModeEnrol}
	}
	cls := make([]*raclient.Client, clients)
	for i := range cls {
		cls[i] = aroHTTPSClient(b, s, ts)
	}
	viaHTTPS := func(w int, csr []byte) error { _, err := cls[w].Enrol(ctx, req(csr)); return err }
	inProc := func(_ int, csr []byte) error { _, err := s.svc.Enrol(ctx, s.aroSup, req(csr)); return err }
	issue := func(csr []byte) error {
		block, _ := pem.Decode(csr)
		if block == nil {
			return errors.New("ra.NewCSR did not return PEM")
		}
		parsed, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return err
		}
		_, _, err = s.ca.Issue(ctx, ca.IssueRequest{CSR: parsed, Profile: ca.XMLSigning, UserID: s.userIS,
			PartyID: s.supplier, Role: role.ImportSupplier})
		return err
	}
	var handshakes atomic.Int64 // TLS handshakes the clients made
	for _, c := range cls {
		c.HTTPClient().Transport.(*http.Transport).TLSClientConfig.VerifyConnection = func(tls.ConnectionState) error {
			handshakes.Add(1)
			return nil
		}
	}
	run(clients*4, viaHTTPS) // warm up: connections, caches
	b.StopTimer()
	p0 := commits.mark()
	base := run(b.N, inProc)
	inprocCommits := commits.since(p0)
	p0 = commits.mark()
	durable, issueCPU := runIssue(b, b.N, 8*runtime.GOMAXPROCS(0), csrs, issue)
	issueCommits := commits.since(p0)
	issueWall := durable
	b.StartTimer()
	h0 := handshakes.Load()
	p0 = commits.mark()
	https := run(b.N, viaHTTPS)
	httpsCommits := commits.since(p0)
	b.StopTimer()
	httpsHandshakes := handshakes.Load() - h0
	enrolCPU := cpu
	p0 = commits.mark()
	base2 := run(b.N, inProc) // the baselines before and after; the faster kept
	inprocCommits = inprocCommits.plus(commits.since(p0))
	inprocWall := base + base2
	base = min(base, base2)
	p0 = commits.mark()
	durable2, issueCPU2 := runIssue(b, b.N, 8*runtime.GOMAXPROCS(0), csrs, issue)
	issueCommits = issueCommits.plus(commits.since(p0))
	issueWall += durable2
	durable, issueCPU = min(durable, durable2), min(issueCPU, issueCPU2)
	// The HTTPS part again, untimed, so that it is kept as the baselines
	// are: the faster of two runs (a single run against the better of two
	// understated the API by the run-to-run noise).
	h0 = handshakes.Load()
	p0 = commits.mark()
	https2 := run(b.N, viaHTTPS)
	if https2 < https {
		https, enrolCPU, httpsCommits, httpsHandshakes = https2, cpu, commits.since(p0), handshakes.Load()-h0
	}
	durable8, issueCPU8 := runIssue(b, b.N, clients, csrs, issue)
	b.ReportMetric(float64(b.N)/https.Seconds(), "enrols/s")
	b.ReportMetric(float64(b.N)/base.Seconds(), "inproc-enrols/s")
	b.ReportMetric(base.Seconds()/https.Seconds(), "https/inproc")
	b.ReportMetric(float64(b.N)/durable.Seconds(), "issues/s")
	b.ReportMetric(durable.Seconds()/https.Seconds(), "https/durable-issue")
	b.ReportMetric(durable.Seconds()/base.Seconds(), "inproc/durable-issue")
	b.ReportMetric(float64(enrolCPU.Microseconds())/float64(b.N), "cpu-us/enrol")
	b.ReportMetric(float64(issueCPU.Microseconds())/float64(b.N), "cpu-us/issue")
	b.ReportMetric(float64(issueCPU)/float64(enrolCPU), "cpu-issue/cpu-enrol")
	b.ReportMetric(float64(2*b.N)/float64(max(httpsCommits.n, 1)), "https-writes/commit")
	b.ReportMetric(float64(4*b.N)/float64(max(issueCommits.n, 1)), "issue-writes/commit")
	b.ReportMetric(float64(4*b.N)/float64(max(inprocCommits.n, 1)), "inproc-writes/commit")
	b.ReportMetric(httpsCommits.usPer(), "https-us/commit")
	b.ReportMetric(issueCommits.usPer(), "issue-us/commit")
	b.ReportMetric(httpsCommits.in.Seconds()/https.Seconds(), "https-commit-busy")
	b.ReportMetric(issueCommits.in.Seconds()/issueWall.Seconds(), "issue-commit-busy")
	b.ReportMetric(inprocCommits.in.Seconds()/inprocWall.Seconds(), "inproc-commit-busy")
	b.ReportMetric(float64(httpsHandshakes), "https-handshakes")
	b.ReportMetric(float64(b.N)/durable8.Seconds(), "issues-8w/s")
	b.ReportMetric(float64(issueCPU8.Microseconds())/float64(b.N), "cpu-us/issue-8w")
	b.ReportMetric(durable8.Seconds()/https.Seconds(), "https/issue-8w")
}

// commitCounter counts the store's read-write transactions (Update
// calls) and the time spent in them: with the CA's group commit, one per
// committed group of issuance writes (and the few other changes a run
// makes). The time in them over a part's wall time is how busy the one
// writer was: near 1, the part was bound by its commits (their fsyncs
// and the CPU inside them), and only fuller or shorter commits make it
// faster.
type commitCounter struct {
	store.Store
	n  atomic.Int64
	in atomic.Int64 // nanoseconds inside Update
}

func (c *commitCounter) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.n.Add(1)
	defer func(t0 time.Time) { c.in.Add(int64(time.Since(t0))) }(time.Now())
	return c.Store.Update(ctx, fn)
}

// UpdateAlone counts as Update does: the CA's issuance writes come
// through it (store.UpdateOf).
func (c *commitCounter) UpdateAlone(ctx context.Context, fn func(store.Tx) error) error {
	c.n.Add(1)
	defer func(t0 time.Time) { c.in.Add(int64(time.Since(t0))) }(time.Now())
	return store.UpdateOf(c.Store)(ctx, fn)
}

// commitCount is a number of commits and the time spent in them.
type commitCount struct {
	n  int64
	in time.Duration
}

func (c *commitCounter) mark() commitCount {
	return commitCount{c.n.Load(), time.Duration(c.in.Load())}
}

// since is what c counted after m.
func (c *commitCounter) since(m commitCount) commitCount {
	now := c.mark()
	return commitCount{now.n - m.n, now.in - m.in}
}

func (a commitCount) plus(b commitCount) commitCount { return commitCount{a.n + b.n, a.in + b.in} }

// usPer is the mean time of one commit, in microseconds.
func (a commitCount) usPer() float64 {
	return float64(a.in.Microseconds()) / float64(max(a.n, 1))
}

// runIssue is BenchmarkDurableIssue parallel8's loop: n CSRs (made
// first, untimed) issued by workers goroutines taking the next one from a
// shared counter. It returns the time the issuances took and the
// process's CPU time meanwhile.
func runIssue(b *testing.B, n, workers int, csrs func(int) [][]byte, issue func([]byte) error) (time.Duration, time.Duration) {
	work := csrs(n)
	c0 := cputime.Process()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := issue(work[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), cputime.Process() - c0
}
