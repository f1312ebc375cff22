package raserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"

	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier"
	"github.com/smki/smki/verifier/xmldsig"
)

// The acceptance measurement of the revocation feed: "a verifier following
// the feed sees a revocation in under one second (p99 over 100 revocations
// with 10 followers on loopback)". TestFeedLatency proves every follower
// sees every revocation and logs the figures; BenchmarkFeedLatency reports
// them as metrics. Neither asserts a time bound: that is the reader's call
// on the printed numbers, not a flaky test's.

// feedProbe watches one follower: the revocation sequence its Verifier has in
// force and when it got there.
type feedProbe struct {
	f  *verifier.Follower
	mu sync.Mutex
	// seq and at: the Verifier's revocation sequence after the last
	// applied page, and when the page was applied.
	seq uint64
	at  time.Time
	ch  chan struct{} // closed and replaced on every advance
}

func (p *feedProbe) onRevocations(seq uint64) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq > p.seq {
		p.seq, p.at = seq, now
		close(p.ch)
		p.ch = make(chan struct{})
	}
}

// seen blocks until the follower has seq in force and returns when it got
// there; it fails if ctx ends first.
func (p *feedProbe) seen(ctx context.Context, seq uint64) (time.Time, error) {
	for {
		p.mu.Lock()
		cur, at, ch := p.seq, p.at, p.ch
		p.mu.Unlock()
		if cur >= seq {
			return at, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("follower at seq %d never saw seq %d: %w", cur, seq, ctx.Err())
		}
	}
}

// latencyRig is a real RA over HTTPS with mTLS (bbolt store, real CA and
// system signer) followed by real verifier.Followers, each with its own
// Verifier built from a bundle the system signer signed.
type latencyRig struct {
	f      *feedEnv
	ts     *httptest.Server
	certs  []feedCert
	probes []*feedProbe
	rtt    func() time.Duration // one immediate feed request over mTLS, opened: the baseline
}

func newLatencyRig(tb testing.TB, ctx context.Context, followers, certs int) *latencyRig {
	tb.Helper()
	return newLatencyRigWith(tb, ctx, followers, certs, nil)
}

// newLatencyRigWith is newLatencyRig with edit applied to the followers'
// bundle before it is signed.
func newLatencyRigWith(tb testing.TB, ctx context.Context, followers, certs int, edit func(*bundle.Bundle)) *latencyRig {
	tb.Helper()
	return newLatencyRigOn(tb, ctx, newFeedEnv(tb), followers, certs, edit)
}

// newLatencyRigOn is newLatencyRigWith over the feedEnv f (of either
// engine).
func newLatencyRigOn(tb testing.TB, ctx context.Context, f *feedEnv, followers, certs int, edit func(*bundle.Bundle)) *latencyRig {
	tb.Helper()
	r := &latencyRig{f: f, certs: f.issue(tb, certs)}
	ts := startServer(tb, f.env)
	r.ts = ts

	// One machine credential for the verifiers, as an operator would
	// appoint it.
	_, cred, err := f.svc.AppointOfficer(ctx, f.admin, ra.OfficerRequest{ID: "verifiers", Name: "Verifier fleet", Kind: ra.KindVerifier})
	if err != nil {
		tb.Fatal(err)
	}
	pair, err := tls.X509KeyPair(cred.CertPEM, cred.KeyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	accessRoots := x509.NewCertPool()
	if !accessRoots.AppendCertsFromPEM(cred.CAPEM) {
		tb.Fatal("credential CA PEM")
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13,
			Certificates: []tls.Certificate{pair}, RootCAs: accessRoots, Time: f.clock.Now}}}
	}

	b := &bundle.Bundle{Version: bundle.Version, IssuedAt: f.clock.Now(), MaxAge: bundle.Duration(24 * time.Hour),
		Users: []bundle.User{{UserID: f.userIS, PartyID: f.supplier, Role: role.ImportSupplier, Status: bundle.StatusActive, Name: "IS"}}}
	for _, c := range r.certs {
		b.Certificates = append(b.Certificates, c.cert.Raw)
	}
	if edit != nil {
		edit(b)
	}
	signed, err := f.signer.SignBundle(b)
	if err != nil {
		tb.Fatal(err)
	}
	for range followers {
		opened, err := bundle.Open(signed, f.roots, f.clock.Now())
		if err != nil {
			tb.Fatal(err)
		}
		v, err := verifier.New(verifier.Options{Roots: []*x509.Certificate{f.ca.Root()}, Intermediates: []*x509.Certificate{f.ca.Issuing()},
			Bundle: opened, Clock: f.clock.Now})
		if err != nil {
			tb.Fatal(err)
		}
		p := &feedProbe{ch: make(chan struct{})}
		p.f = &verifier.Follower{Verifier: v, BaseURL: ts.URL, Client: newClient(), Roots: f.roots,
			BundleInterval: time.Hour, RetryDelay: 20 * time.Millisecond, OnRevocations: p.onRevocations}
		r.probes = append(r.probes, p)
	}
	// The baseline: one feed request answered at once (an empty page at
	// the current sequence, wait 0) and opened, as a follower does it.
	base := newClient()
	r.rtt = func() time.Duration {
		start := time.Now()
		resp, err := base.Get(ts.URL + "/v1/revocations?since=0&wait=0s")
		if err != nil {
			tb.Fatal(err)
		}
		env, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("baseline feed request: %d %v", resp.StatusCode, err)
		}
		if _, err := bundle.OpenFeedPage(env, f.roots, f.clock.Now()); err != nil {
			tb.Fatal(err)
		}
		return time.Since(start)
	}
	return r
}

// follow starts every follower and waits until each holds a feed request.
func (r *latencyRig) follow(tb testing.TB, ctx context.Context) {
	tb.Helper()
	var wg sync.WaitGroup
	for _, p := range r.probes {
		wg.Go(func() { p.f.Run(ctx) })
	}
	tb.Cleanup(wg.Wait) // after the caller's cancel: followers end with ctx
	waitFeedHeld(tb, r.f.svc, len(r.probes))
}

// revokeAndWait revokes certs[i] through the Service and returns, per
// follower, the time from Revoke's return until that follower's Verifier
// had it in force. A follower that applied it before Revoke returned
// (the broadcast fires on commit) counts 0.
func (r *latencyRig) revokeAndWait(tb testing.TB, ctx context.Context, i int) []time.Duration {
	rev := r.f.revoke(tb, r.certs[i].serial)
	returned := time.Now()
	out := make([]time.Duration, len(r.probes))
	for j, p := range r.probes {
		at, err := p.seen(ctx, rev.Seq)
		if err != nil {
			tb.Fatalf("revocation %d (seq %d), follower %d: %v", i, rev.Seq, j, err)
		}
		out[j] = max(0, at.Sub(returned))
	}
	return out
}

// signedBy signs a DUIS SR 1.6 request with certs[i]'s key.
func (r *latencyRig) signedBy(tb testing.TB, i int) []byte {
	tb.Helper()
	xml := `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">` +
		`<sr:Header><sr:RequestID>` + r.f.userIS.String() + `:00-DB-12-34-56-78-90-A1:` + fmt.Sprint(i+1) + `</sr:RequestID>` +
		`<sr:CommandVariant>4</sr:CommandVariant><sr:ServiceReference>1.6</sr:ServiceReference>` +
		`<sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant></sr:Header>` +
		`<sr:Body><sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode></sr:Body></sr:Request>`
	out, err := xmldsig.Sign([]byte(xml), r.certs[i].key, r.certs[i].cert, xmldsig.SignOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// quantile returns the q-quantile (nearest rank) of sorted ds.
func feedQuantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func feedMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestFeedLatency(t *testing.T) {
	t.Parallel()
	const followers, revocations = 10, 100
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	r := newLatencyRig(t, ctx, followers, revocations)
	first, last := r.signedBy(t, 0), r.signedBy(t, revocations-1)
	if d := r.probes[0].f.Verifier.Verify(first, r.f.clock.Now()); d.Code == verifier.CodeREVOKED {
		t.Fatalf("before any revocation: %+v", d)
	}
	run, stop := context.WithCancel(ctx)
	r.follow(t, run)
	defer stop()

	var all, worst []time.Duration
	for i := range revocations {
		lat := r.revokeAndWait(t, ctx, i)
		all = append(all, lat...)
		worst = append(worst, slices.Max(lat))
	}
	// Every follower's Verifier now refuses both ends of the sequence:
	// the feed carried the right issuer DN and serial, not just a number.
	for j, p := range r.probes {
		if got := p.f.Verifier.RevocationSeq(); got != uint64(revocations) {
			t.Errorf("follower %d at seq %d, want %d", j, got, revocations)
		}
		for _, req := range [][]byte{first, last} {
			if d := p.f.Verifier.Verify(req, r.f.clock.Now()); d.Code != verifier.CodeREVOKED {
				t.Errorf("follower %d: decision %+v, want %s", j, d, verifier.CodeREVOKED)
			}
		}
	}
	slices.Sort(all)
	slices.Sort(worst)
	t.Logf("feed latency, %d revocations x %d followers over HTTPS mTLS on loopback: p50 %.2f ms, p99 %.2f ms, max %.2f ms; "+
		"until all %d followers had it: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		revocations, followers, feedMS(feedQuantile(all, .5)), feedMS(feedQuantile(all, .99)), feedMS(all[len(all)-1]),
		followers, feedMS(feedQuantile(worst, .5)), feedMS(feedQuantile(worst, .99)), feedMS(worst[len(worst)-1]))
}

// BenchmarkFeedLatency: one op is one revocation seen by all 10
// followers. Metrics: p50/p99 (per follower) and p99-all (until every
// follower had it) in ms, and p50/rtt and p99/rtt: those as multiples of
// the in-run baseline rtt, one feed request answered at once over the same
// mTLS transport and opened (so the ratio is the cost of the long-poll
// wake-up and of ten followers sharing two cores).
func BenchmarkFeedLatency(b *testing.B) {
	const followers = 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newLatencyRig(b, ctx, followers, b.N)
	var rtts []time.Duration
	for range 50 {
		rtts = append(rtts, r.rtt()) // before any revocation: since=0 is current
	}
	r.follow(b, ctx)
	var all, worst []time.Duration
	b.ResetTimer()
	for i := range b.N {
		lat := r.revokeAndWait(b, ctx, i)
		all = append(all, lat...)
		worst = append(worst, slices.Max(lat))
	}
	b.StopTimer()
	slices.Sort(all)
	slices.Sort(worst)
	slices.Sort(rtts)
	p99, rtt := feedQuantile(all, .99), feedQuantile(rtts, .5)
	p50 := feedQuantile(all, .5)
	b.ReportMetric(feedMS(p50), "p50-ms")
	b.ReportMetric(float64(p50)/float64(rtt), "p50/rtt")
	b.ReportMetric(feedMS(p99), "p99-ms")
	b.ReportMetric(feedMS(feedQuantile(worst, .99)), "p99-all-ms")
	b.ReportMetric(feedMS(rtt), "rtt-ms")
	b.ReportMetric(float64(p99)/float64(rtt), "p99/rtt")
}

// feedEnv is a scenario whose Service publishes the feed, with the SMKI
// root to open it against.
type feedEnv struct {
	*scenario
	roots *x509.CertPool // the SMKI root
}

func newFeedEnv(t testing.TB) *feedEnv {
	t.Helper()
	return feedEnvOf(newSignedEnv(t))
}

// feedEnvOf is the feed scenario over the signed env e.
func feedEnvOf(e *env) *feedEnv {
	s := scenarioOf(e)
	return &feedEnv{scenario: s, roots: s.env.roots()}
}

// feedCert is one Organisation Certificate of the scenario's IS user.
type feedCert struct {
	serial string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
}

// issue enrols n xml-signing certificates for the IS user.
func (f *feedEnv) issue(t testing.TB, n int) []feedCert {
	t.Helper()
	out := make([]feedCert, 0, n)
	for range n {
		k := ratest.NewKey(t)
		is, err := f.svc.Enrol(context.Background(), f.aroSup, ra.EnrolRequest{UserID: f.userIS, Profile: ca.XMLSigning,
			CSR: ratest.CSR(t, k, f.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ra.ModeEnrol})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, feedCert{serial: is.Cert.Serial, cert: ratest.ParseCert(t, is.CertPEM), key: k})
	}
	return out
}

// revoke revokes one certificate through the Service (the path the API
// takes) and returns its revocation record.
func (f *feedEnv) revoke(t testing.TB, serial string) ra.Revocation {
	t.Helper()
	res, err := f.svc.Revoke(context.Background(), f.aroSup, ra.RevokeRequest{Serial: serial, Reason: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Revocations) != 1 {
		t.Fatalf("revoke %s: %d revocations", serial, len(res.Revocations))
	}
	return res.Revocations[0]
}

// waitFeedHeld blocks until svc holds n feed requests.
func waitFeedHeld(t testing.TB, svc *ra.Service, n int) {
	t.Helper()
	for i := 0; ; i++ {
		w := svc.HeldFeedRequests()
		if w >= n {
			return
		}
		if i > 50000 {
			t.Fatalf("%d feed requests held, want %d", w, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
