package verifier

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier/xmldsig"
)

// TestSetBundleChangesDecisions: R3, the allow-list is data; a new bundle
// changes decisions at once, without a restart.
func TestSetBundleChangesDecisions(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	at := testNow.Add(time.Minute)
	if d := v.Verify(sign(t, request(t, tmplTariff, userSC, devA1, 1), s.sc, false), at); d.Code != CodeE2 {
		t.Fatalf("1.1.1 before the change: %+v", d)
	}
	gen := v.Generation()
	b := cloneBundle(t, s.bundle)
	b.IssuedAt = b.IssuedAt.Add(time.Minute)
	b.AllowLists[role.SoLRContingency] = []string{"1.6", "1.1.1"}
	b.ADT[0].SRVs["1.1.1"] = bundle.ADTThreshold{Period: bundle.Duration(time.Hour), Quarantine: 10}
	if err := v.SetBundle(b); err != nil {
		t.Fatal(err)
	}
	if v.Generation() <= gen {
		t.Fatal("generation did not advance")
	}
	if d := v.Verify(sign(t, request(t, tmplTariff, userSC, devA1, 2), s.sc, false), at); !d.Accepted() {
		t.Fatalf("1.1.1 after the change: %+v", d)
	}
	// Closing the event returns SC to default deny (R6).
	b2 := cloneBundle(t, b)
	b2.IssuedAt = b2.IssuedAt.Add(time.Minute)
	b2.SoLREvents[0].State = bundle.EventClosed
	if err := v.SetBundle(b2); err != nil {
		t.Fatal(err)
	}
	if d := v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 3), s.sc, false), at); d.Code != CodeE4 {
		t.Fatalf("after closing: %+v", d)
	}
	// An older bundle never replaces a newer one.
	if err := v.SetBundle(s.bundle); !errors.Is(err, bundle.ErrBundleInvalid) {
		t.Fatalf("older bundle: %v", err)
	}
}

// TestAddRevocationsInvalidatesCache: a cached good chain is re-judged after
// a feed page revokes the signer.
func TestAddRevocationsInvalidatesCache(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	at := testNow.Add(time.Minute)
	mustAccept(t, v, sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false))
	page := &bundle.FeedPage{Seq: 8, IssuedAt: testNow, Revoked: []bundle.RevokedCert{{
		Issuer: "CN=Z1,OU=07", Serial: s.sc.cert.SerialNumber.Text(16), RevokedAt: testNow, Reason: 5}}}
	if err := v.AddRevocations(page); err != nil {
		t.Fatal(err)
	}
	if v.RevocationSeq() != 8 {
		t.Fatalf("seq = %d", v.RevocationSeq())
	}
	if d := v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 2), s.sc, false), at); d.Code != CodeREVOKED {
		t.Fatalf("after the feed page: %+v", d)
	}
	// Pages never go backwards.
	if err := v.AddRevocations(&bundle.FeedPage{Seq: 3, IssuedAt: testNow}); !errors.Is(err, bundle.ErrFeedInvalid) {
		t.Fatalf("older page: %v", err)
	}
	// A CRL added at runtime is verified against the trusted CAs.
	other := newTestPKI(t, testNow)
	if err := v.AddCRL(other.crl(t, testNow, testNow.Add(time.Hour))); !errors.Is(err, ErrConfig) {
		t.Fatalf("CRL from another CA: %v", err)
	}
}

// TestFeedRefreshesStaleness: revocation data older than MaxAge is STALE
// until a feed page proves it current again.
func TestFeedRefreshesStaleness(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var now atomic.Pointer[time.Time]
	set := func(t time.Time) { now.Store(&t) }
	set(testNow)
	v := s.verifier(t, func(o *Options) {
		o.Clock = func() time.Time { return *now.Load() }
		o.MaxAge = 30 * time.Minute
	})
	msg := func(c uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, c), s.sc, false) }
	mustAccept(t, v, msg(1))
	set(testNow.Add(time.Hour))
	if d := v.Verify(msg(2), testNow.Add(time.Hour)); d.Code != CodeSTALE {
		t.Fatalf("an hour later: %+v", d)
	}
	// The bundle itself is also too old, so a feed page alone is not enough.
	if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if d := v.Verify(msg(2), testNow.Add(time.Hour)); d.Code != CodeSTALE {
		t.Fatalf("fresh feed, stale bundle: %+v", d)
	}
	b := cloneBundle(t, s.bundle)
	b.IssuedAt = testNow.Add(time.Hour)
	if err := v.SetBundle(b); err != nil {
		t.Fatal(err)
	}
	if d := v.Verify(msg(2), testNow.Add(time.Hour)); !d.Accepted() {
		t.Fatalf("fresh again: %+v", d)
	}
}

// TestADTWarningAndQuarantine: warnings flag the decision from the warning
// threshold on; after AD1 the pair stays quarantined for one period.
func TestADTWarningAndQuarantine(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	msg := func(c uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, c), s.sc, false) }
	base := testNow.Add(time.Minute)
	for i := uint64(1); i <= 5; i++ {
		d := v.Verify(msg(i), base.Add(time.Duration(i)*time.Second))
		if !d.Accepted() {
			t.Fatalf("request %d: %+v", i, d)
		}
		if wantWarn := i >= 3; (len(d.Warnings) > 0) != wantWarn {
			t.Fatalf("request %d warnings = %v, want warning %v", i, d.Warnings, wantWarn)
		}
	}
	if d := v.Verify(msg(6), base.Add(10*time.Second)); d.Code != CodeAD1 {
		t.Fatalf("6th: %+v", d)
	}
	// One period and 6s on, the window is empty again, but the quarantine
	// (one period from the AD1 at +10s) still holds.
	if d := v.Verify(msg(7), base.Add(time.Hour+6*time.Second)); d.Code != CodeAD1 {
		t.Fatalf("inside quarantine: %+v", d)
	}
	if d := v.Verify(msg(8), base.Add(time.Hour+11*time.Second)); !d.Accepted() {
		t.Fatalf("after quarantine: %+v", d)
	}
	// Rejected requests did not advance the counter, accepted ones did.
	if d := v.Verify(msg(7), base.Add(time.Hour+12*time.Second)); d.Code != CodeREPLAY {
		t.Fatalf("replay of 7 after 8: %+v", d)
	}
}

// TestVerifyConcurrentWithUpdates: Verify from many goroutines while the
// data is swapped under them (SetBundle, AddRevocations, AddCRL) and the
// sidecar's endpoints read it (/metrics, /healthz, /readyz, NotReady,
// RouteAlert), as an embedding command path and a Follower do: under
// -race (make test) nothing races, and every request is decided on one
// generation (accept, or REPLAY where another goroutine accepted a
// higher counter first; never a refusal of the data changing under it).
func TestVerifyConcurrentWithUpdates(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	b0 := cloneBundle(t, s.bundle)
	b0.ADT[0].SRVs["1.6"] = bundle.ADTThreshold{Period: bundle.Duration(time.Hour), Quarantine: 1 << 20}
	v := s.verifier(t, func(o *Options) { o.Bundle = b0 })
	m, err := NewMetrics(prometheus.NewRegistry(), v)
	if err != nil {
		t.Fatal(err)
	}
	h := InstrumentedHandler(m, 0)
	const workers, each = 8, 20
	msgs := make([][][]byte, workers)
	for g := range msgs {
		for i := range each {
			msgs[g] = append(msgs[g], sign(t, request(t, tmplCredit, userSC, devA1, uint64(g*each+i+1)), s.sc, false))
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range workers {
		wg.Go(func() {
			<-start
			for _, msg := range msgs[g] {
				// One originator: a counter below one another goroutine
				// had accepted is REPLAY; nothing else.
				if d := m.Verify(msg, testNow.Add(time.Minute)); !d.Accepted() && d.Code != CodeREPLAY {
					t.Errorf("during updates: %+v, want accept or REPLAY", d)
				}
				v.NotReady()
				v.RouteAlert(devA1, 0x8F1C, testNow)
				for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
					h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
				}
			}
		})
	}
	crl := s.pki.crl(t, testNow, testNow.Add(time.Hour))
	close(start)
	for i := range 20 {
		b := cloneBundle(t, b0)
		b.IssuedAt = b.IssuedAt.Add(time.Duration(i+1) * time.Second)
		if err := v.SetBundle(b); err != nil {
			t.Fatal(err)
		}
		if err := v.AddRevocations(&bundle.FeedPage{Seq: uint64(8 + i), IssuedAt: testNow.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			if err := v.AddCRL(crl); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
}

// TestConcurrentReplay: of many concurrent copies of one request exactly
// one is accepted.
func TestConcurrentReplay(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	b := cloneBundle(t, s.bundle)
	b.ADT[0].SRVs["1.6"] = bundle.ADTThreshold{Period: bundle.Duration(time.Hour), Quarantine: 1000}
	v := s.verifier(t, func(o *Options) { o.Bundle = b })
	msg := sign(t, request(t, tmplCredit, userSC, devA1, 42), s.sc, false)
	var accepted, replayed atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			switch d := v.Verify(msg, testNow.Add(time.Minute)); d.Code {
			case "":
				accepted.Add(1)
			case CodeREPLAY:
				replayed.Add(1)
			default:
				t.Errorf("unexpected %+v", d)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 1 || replayed.Load() != 15 {
		t.Fatalf("accepted %d, replayed %d", accepted.Load(), replayed.Load())
	}
}

func TestFileReplayStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "replay.log")
	st, err := OpenFileReplayStore(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := eui64.MustParse("90-B3-D5-1F-30-03-00-00"), eui64.MustParse("90-B3-D5-1F-30-04-00-00")
	for _, c := range []uint64{5, 9} {
		if err := st.Accept(a, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Accept(b, 1<<63); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st2, err := OpenFileReplayStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if c, ok := st2.Last(a); !ok || c != 9 {
		t.Fatalf("a = %d, %v", c, ok)
	}
	if c, ok := st2.Last(b); !ok || c != 1<<63 {
		t.Fatalf("b = %d, %v", c, ok)
	}
	if _, ok := st2.Last(eui64.MustParse("00-00-00-00-00-00-00-01")); ok {
		t.Fatal("unknown originator has a counter")
	}
	// A verifier using it refuses a replay across the restart.
	s := newScenario(t)
	v := s.verifier(t, func(o *Options) { o.Replay = st2 })
	if d := v.Verify(sign(t, request(t, tmplCredit, a, devA1, 9), s.sc, false), testNow.Add(time.Minute)); d.Code != CodeREPLAY {
		t.Fatalf("replay across restart: %+v", d)
	}
}

func TestRouteAlert(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	revoked := cloneBundle(t, s.bundle)
	revoked.Revoked = []bundle.RevokedCert{{Issuer: "CN=Z1,OU=07", Serial: s.a.cert.SerialNumber.Text(16), RevokedAt: testNow.Add(-30 * time.Minute)}}
	tests := []struct {
		name   string
		bundle *bundle.Bundle
		device eui64.ID
		at     time.Time
		want   []eui64.ID
	}{
		{"failed supplier device goes to the SRP", s.bundle, devA1, testNow, []eui64.ID{userSC}},
		{"also after the supplier's certificates are revoked", revoked, devA2, testNow, []eui64.ID{userSC}},
		{"before the event: the registered supplier", s.bundle, devA1, testNow.Add(-2 * time.Hour), []eui64.ID{userA}},
		{"healthy supplier's device", s.bundle, devB, testNow, []eui64.ID{userB}},
		{"unregistered device", s.bundle, devNone, testNow, nil},
	}
	for _, tt := range tests {
		v := s.verifier(t, func(o *Options) { o.Bundle = tt.bundle })
		got, reason := v.RouteAlert(tt.device, 0x8F66, tt.at)
		if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
			t.Errorf("%s: RouteAlert = %v (%s), want %v", tt.name, got, reason, tt.want)
		}
		if reason == "" {
			t.Errorf("%s: no reason", tt.name)
		}
	}
}

// TestRouteAlertStaleData: alert routing rests on the bundle's SoLR events
// and device registry, so it applies Verify's STALE rule (Verifier.stale):
// with data too old, from the future or past a CRL's nextUpdate an alert
// routes nowhere, and the reason says STALE.
func TestRouteAlertStaleData(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	expiredCRL := s.pki.crl(t, testNow.Add(-2*time.Hour), testNow.Add(-time.Hour))
	tests := []struct {
		name   string
		bundle func(b *bundle.Bundle)
		opts   func(o *Options)
		prime  func(t *testing.T, v *Verifier, setNow func(time.Time))
		stale  bool
	}{
		{name: "fresh data routes"},
		{name: "bundle older than its max_age", stale: true, bundle: func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(-25 * time.Hour) }},
		{name: "bundle older than the verifier's MaxAge", stale: true, opts: func(o *Options) { o.MaxAge = 5 * time.Minute }},
		{name: "bundle from the future", stale: true, bundle: func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(time.Hour) }},
		{name: "CRL past nextUpdate", stale: true, opts: func(o *Options) { o.CRLs = [][]byte{expiredCRL} }},
		{name: "revocation data from the future", stale: true, prime: func(t *testing.T, v *Verifier, setNow func(time.Time)) {
			setNow(testNow.Add(time.Hour))
			if err := v.AddRevocations(&bundle.FeedPage{Seq: v.RevocationSeq() + 1, IssuedAt: testNow.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			setNow(testNow) // the clock stepped back an hour
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := s.bundleWith(t, tt.bundle)
			var now atomic.Pointer[time.Time]
			now.Store(&testNow)
			v := s.verifier(t, func(o *Options) {
				o.Bundle, o.Clock = b, func() time.Time { return *now.Load() }
				if tt.opts != nil {
					tt.opts(o)
				}
			})
			if tt.prime != nil {
				tt.prime(t, v, func(t time.Time) { now.Store(&t) })
			}
			got, reason := v.RouteAlert(devA1, 0x8F66, testNow)
			t.Logf("%v: %s", got, reason)
			if !tt.stale {
				if len(got) != 1 || got[0] != userSC {
					t.Fatalf("RouteAlert = %v (%s), want [%s]", got, reason, userSC)
				}
				return
			}
			if got != nil || !strings.Contains(reason, CodeSTALE) {
				t.Fatalf("RouteAlert = %v (%s), want no recipient and a STALE reason", got, reason)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	other := newTestPKI(t, testNow)
	tests := []struct {
		name string
		mod  func(o *Options)
	}{
		{"no roots", func(o *Options) { o.Roots = nil }},
		{"no bundle", func(o *Options) { o.Bundle = nil }},
		{"CRL from an untrusted CA", func(o *Options) { o.CRLs = [][]byte{other.crl(t, testNow, testNow.Add(time.Hour))} }},
		{"garbage CRL", func(o *Options) { o.CRLs = [][]byte{{0x30, 0x00}} }},
		{"negative MaxAge", func(o *Options) { o.MaxAge = -time.Second }},
		// An embedder's mistakes (a certificate that failed to parse left
		// nil, the signer's certificate given as the root, a negative
		// limit meant as "none") are refused naming the field, not a panic
		// in New ("adding nil Certificate to CertPool", a nil pointer
		// dereference) nor accepted.
		{"nil root", func(o *Options) { o.Roots = []*x509.Certificate{nil} }},
		{"nil intermediate", func(o *Options) { o.Intermediates = append(o.Intermediates, nil) }},
		{"nil certificate", func(o *Options) { o.Certificates = []*x509.Certificate{nil} }},
		{"root not a CA", func(o *Options) { o.Roots = []*x509.Certificate{s.sc.cert} }},
		{"intermediate not a CA", func(o *Options) { o.Intermediates = []*x509.Certificate{s.sc.cert} }},
		{"negative limit", func(o *Options) { o.Limits.MaxDepth = -1 }},
		// A limit above its hard ceiling (xmldsig.MaxLimits) would take
		// the parser's protection away: refused, never used nor clamped.
		{"MaxBytes above the ceiling", func(o *Options) { o.Limits.MaxBytes = xmldsig.MaxLimits().MaxBytes + 1 }},
		{"MaxDepth above the ceiling", func(o *Options) { o.Limits.MaxDepth = 1 << 30 }},
		{"MaxAttrs above the ceiling", func(o *Options) { o.Limits.MaxAttrs = xmldsig.MaxLimits().MaxAttrs + 1 }},
		{"MaxNSDecls above the ceiling", func(o *Options) { o.Limits.MaxNSDecls = xmldsig.MaxLimits().MaxNSDecls + 1 }},
		{"MaxElements above the ceiling", func(o *Options) { o.Limits.MaxElements = math.MaxInt }},
	}
	for _, tt := range tests {
		o := s.options(s.bundle)
		tt.mod(&o)
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			_, err = New(o)
			return err
		}()
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", tt.name, err)
		}
	}
}

// TestLimitCeilings: Options.Limits at the hard ceilings
// (xmldsig.MaxLimits) are taken; one above is refused E_VERIFIER_CONFIG
// naming the field, its ceiling and what to do.
func TestLimitCeilings(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	o := s.options(s.bundle)
	o.Limits = xmldsig.MaxLimits()
	if _, err := New(o); err != nil {
		t.Fatalf("limits at the ceilings: %v", err)
	}
	o.Limits.MaxBytes = 1 << 30
	_, err := New(o)
	want := fmt.Sprintf("Limits.MaxBytes %d is above its ceiling %d", 1<<30, xmldsig.MaxLimits().MaxBytes)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "zero for the default") {
		t.Fatalf("err = %v, want E_VERIFIER_CONFIG with %q and the next step", err, want)
	}
}

// TestBundleFromTheFutureDoesNotWedge: a bundle dated beyond the clock
// skew (the RA's clock, or this one, wrong for a moment) does not replace
// the current one, which keeps serving; and a first bundle from the
// future (which answers STALE) is replaced by the next honest one. Before,
// SetBundle installed it, the verifier answered STALE, and every honest
// bundle after it was refused as older until the future bundle's time
// came.
func TestBundleFromTheFutureDoesNotWedge(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	at := testNow.Add(time.Minute)
	future := s.bundleWith(t, func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(24 * time.Hour) })
	honest := s.bundleWith(t, func(b *bundle.Bundle) { b.IssuedAt = b.IssuedAt.Add(time.Second) })

	v := s.verifier(t, nil)
	if err := v.SetBundle(future); !errors.Is(err, bundle.ErrBundleInvalid) {
		t.Fatalf("a bundle from the future over a current one: %v, want ErrBundleInvalid", err)
	}
	if d := v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false), at); !d.Accepted() {
		t.Fatalf("after refusing a bundle from the future: %+v, want the current bundle still serving", d)
	}

	w := s.verifier(t, func(o *Options) { o.Bundle = future })
	if d := w.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false), at); d.Code != CodeSTALE {
		t.Fatalf("on a first bundle from the future: %s %q, want STALE", d.Decision, d.Code)
	}
	if err := w.SetBundle(honest); err != nil {
		t.Fatalf("an honest bundle after a first one from the future: %v", err)
	}
	if d := w.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 2), s.sc, false), at); !d.Accepted() {
		t.Fatalf("after the honest bundle: %+v", d)
	}
}

// TestEmbedderMistakesFailClosed: what an embedding command path can hand
// the library by mistake (a nil bundle or feed page from a fetch whose
// error was dropped; a Verifier declared but never made by New, zero or
// nil) is refused with a coded error or a reject, never a panic (a panic
// in the command path takes the process or the connection down with it,
// and in a Follower's goroutine the whole service) and never an accept;
// the Verifier in force keeps deciding as before.
func TestEmbedderMistakesFailClosed(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	noPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic: %v", name, r)
			}
		}()
		f()
	}
	noPanic("SetBundle(nil)", func() {
		if err := v.SetBundle(nil); !errors.Is(err, bundle.ErrBundleInvalid) {
			t.Errorf("SetBundle(nil) = %v, want E_BUNDLE_INVALID", err)
		}
	})
	noPanic("AddRevocations(nil)", func() {
		if err := v.AddRevocations(nil); !errors.Is(err, bundle.ErrFeedInvalid) {
			t.Errorf("AddRevocations(nil) = %v, want E_FEED_INVALID", err)
		}
	})
	mustAccept(t, v, sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false))

	msg := sign(t, request(t, tmplCredit, userSC, devA1, 2), s.sc, false)
	for _, u := range []struct {
		name string
		v    *Verifier
	}{{"zero Verifier", &Verifier{}}, {"nil Verifier", nil}} {
		noPanic(u.name+" Verify", func() {
			if d := u.v.Verify(msg, testNow.Add(time.Minute)); d.Accepted() || d.Code != CodeSTALE || !strings.Contains(d.Reason, "verifier.New") {
				t.Errorf("%s: Verify = %+v, want reject STALE saying to use verifier.New", u.name, d)
			}
		})
		noPanic(u.name+" NotReady", func() {
			if r := u.v.NotReady(); len(r) == 0 {
				t.Errorf("%s: NotReady() is empty: ready", u.name)
			}
		})
		noPanic(u.name+" RouteAlert", func() {
			if to, why := u.v.RouteAlert(devA1, 0x8F1C, testNow); to != nil || !strings.Contains(why, "STALE") {
				t.Errorf("%s: RouteAlert = %v %q, want nobody, STALE", u.name, to, why)
			}
		})
		noPanic(u.name+" SetBundle", func() {
			if err := u.v.SetBundle(s.bundle); !errors.Is(err, ErrConfig) {
				t.Errorf("%s: SetBundle = %v, want E_VERIFIER_CONFIG", u.name, err)
			}
		})
		noPanic(u.name+" AddRevocations", func() {
			if err := u.v.AddRevocations(&bundle.FeedPage{Seq: 9, IssuedAt: testNow}); !errors.Is(err, ErrConfig) {
				t.Errorf("%s: AddRevocations = %v, want E_VERIFIER_CONFIG", u.name, err)
			}
		})
		noPanic(u.name+" AddCRL", func() {
			if err := u.v.AddCRL(s.pki.crl(t, testNow, testNow.Add(time.Hour))); !errors.Is(err, ErrConfig) {
				t.Errorf("%s: AddCRL = %v, want E_VERIFIER_CONFIG", u.name, err)
			}
		})
		noPanic(u.name+" accessors", func() {
			if u.v.Bundle() != nil || u.v.Generation() != 0 || u.v.RevocationSeq() != 0 || u.v.PartySeq() != 0 || u.v.StateError() != "" {
				t.Errorf("%s: accessors report data it does not have", u.name)
			}
		})
	}
}
