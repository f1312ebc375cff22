package verifier

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/smki/smki/bundle"
)

// TestReadinessFollowsTheFeed: a Verifier whose Follower cannot follow the
// RA (the feed answers 400, the bundle does not verify against the trust
// root) is not ready: /readyz 503 naming each reason, smki_verifier_ready
// 0, /healthz still 200; once the feed is followed again, that reason goes.
func TestReadinessFollowsTheFeed(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	other := newScenario(t) // another PKI: its bundle does not verify against s's root
	v := s.verifier(t, nil)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, v)
	if err != nil {
		t.Fatal(err)
	}
	h := InstrumentedHandler(m, 0)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	ready := func() float64 {
		return gauge(t, reg, "smki_verifier_ready")
	}
	if code, _ := get("/readyz"); code != http.StatusOK || ready() != 1 {
		t.Fatalf("fresh verifier: readyz %d, ready metric %v; want 200 and 1", code, ready())
	}

	foreign := otherBundle(t, other)
	var feedOK atomic.Bool
	ra := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/bundle":
			w.Write(foreign)
		case feedOK.Load():
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, `{"error":{"code":"E_RA_BAD_REQUEST"}}`, http.StatusBadRequest)
		}
	}))
	defer ra.Close()
	f := &Follower{Verifier: v, BaseURL: ra.URL, Client: ra.Client(), Roots: (&Trust{Roots: []*x509.Certificate{s.pki.root}}).RootPool(),
		BundleInterval: time.Hour, RetryDelay: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var body string
	waitFor(t, func() bool {
		var code int
		code, body = get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "revocation feed") && strings.Contains(body, "bundle:")
	})
	var rz struct {
		Ready   bool     `json:"ready"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(body), &rz); err != nil || rz.Ready || len(rz.Reasons) != 2 ||
		!strings.Contains(rz.Reasons[0], "E_ENVELOPE_SIGNER") || !strings.Contains(rz.Reasons[1], "E_FEED_HTTP") {
		t.Fatalf("readyz body %s: want ready false with the bundle's E_ENVELOPE_SIGNER and the feed's E_FEED_HTTP", body)
	}
	if ready() != 0 {
		t.Fatal("smki_verifier_ready is 1 while /readyz says not ready")
	}
	if code, hb := get("/healthz"); code != http.StatusOK || !strings.Contains(hb, `"ready":false`) {
		t.Fatalf("healthz %d %s: want 200 (liveness) saying ready false", code, hb)
	}
	// The feed recovers: its reason goes, the bundle's stays.
	feedOK.Store(true)
	waitFor(t, func() bool {
		_, body = get("/readyz")
		return !strings.Contains(body, "revocation feed")
	})
	if !strings.Contains(body, "bundle:") {
		t.Fatalf("readyz after the feed recovered: %s, want the bundle reason still", body)
	}
}

// otherBundle is a bundle signed in another PKI.
func otherBundle(t *testing.T, other *scenario) []byte {
	t.Helper()
	data, err := bundle.Sign(other.baseBundle(), other.bundleSigner.key, []*x509.Certificate{other.bundleSigner.cert, other.pki.ca})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gauge reads the value of the unlabelled gauge name from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// TestReadinessToleratesTransientFailures: failures of the feed that may
// pass by themselves (503, the RA unreachable) leave the verifier ready
// until more than Follower.Tolerate came in a row; a 4xx answer makes it
// not ready at the next look; a success resets the count.
func TestReadinessToleratesTransientFailures(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	feedReason := func() bool {
		for _, r := range v.NotReady() {
			if strings.HasPrefix(r, "revocation feed") {
				return true
			}
		}
		return false
	}
	// Feed request k records the readiness the k-1 answers before it
	// left (the follower asks again only once it recorded the last).
	var (
		mu     sync.Mutex
		notRdy []bool
		phase  atomic.Int64 // 0: 503s; 1: 400s
	)
	ra := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/bundle" {
			w.WriteHeader(http.StatusNotModified) // no ETag sent: a bundle error, not the feed's
			return
		}
		if strings.HasPrefix(r.URL.Path, "/repo/crl/") {
			http.NotFound(w, r) // no CRL published (SyncCRLs): not a feed request
			return
		}
		mu.Lock()
		notRdy = append(notRdy, feedReason())
		mu.Unlock()
		if phase.Load() == 0 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, `{"error":{"code":"E_RA_BAD_REQUEST"}}`, http.StatusBadRequest)
	}))
	defer ra.Close()
	// at waits for feed request k (from 1) and returns what it saw.
	at := func(k int) bool {
		var got bool
		waitFor(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(notRdy) >= k {
				got = notRdy[k-1]
				return true
			}
			return false
		})
		return got
	}
	f := &Follower{Verifier: v, BaseURL: ra.URL, Client: ra.Client(), Roots: (&Trust{Roots: []*x509.Certificate{s.pki.root}}).RootPool(),
		BundleInterval: time.Hour, RetryDelay: time.Millisecond, Tolerate: 3}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// Requests 2..4 follow 1..3 failures: tolerated. Request 5 follows
	// the fourth: not ready.
	for k := 1; k <= 5; k++ {
		if got, want := at(k), k == 5; got != want {
			t.Fatalf("after %d feed answers 503 (Tolerate 3): not ready %v, want %v", k-1, got, want)
		}
	}
	if rs := strings.Join(v.NotReady(), " "); !strings.Contains(rs, "status 503") {
		t.Fatalf("not ready reasons %q, want the feed's 503", rs)
	}
	// A success resets the count; then one 400 counts at once: request
	// k+1 is answered 400 (it counts from after the switch), k+2 sees it.
	v.followOK(FollowRevocations)
	if feedReason() {
		t.Fatal("the feed followed again: its reason stays")
	}
	phase.Store(1)
	mu.Lock()
	k := len(notRdy)
	mu.Unlock()
	if !at(k + 2) {
		t.Fatalf("after a 400 from the feed: still ready at the next request")
	}
}

// TestReadinessGradesCRLs: a CRL the verifier holds is graded as smki
// serve grades its own (internal/crlfresh): before half its lifetime
// /readyz is 200 with nothing to say; from half its lifetime (its issuer
// has reissued it by then) 200 with a warning naming it and its
// nextUpdate; from nextUpdate on (the second itself included) 503 with
// the reason, smki_verifier_ready 0, and Verify refuses STALE.
func TestReadinessGradesCRLs(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	next := testNow.Add(3 * time.Hour)
	crl := s.pki.crl(t, testNow.Add(-time.Hour), next) // half its lifetime: testNow+1h
	var now atomic.Pointer[time.Time]
	now.Store(&testNow)
	v := s.verifier(t, func(o *Options) {
		o.CRLs = [][]byte{crl}
		o.Clock = func() time.Time { return *now.Load() }
	})
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, v)
	if err != nil {
		t.Fatal(err)
	}
	h := InstrumentedHandler(m, 0)
	for _, tt := range []struct {
		name     string
		at       time.Time
		ready    bool
		warning  bool
		decision string // Verify's code; "" accept
	}{
		{"fresh", testNow, true, false, ""},
		{"half its lifetime", testNow.Add(time.Hour), true, true, ""},
		{"a second before nextUpdate", next.Add(-time.Second), true, true, ""},
		{"at nextUpdate", next, false, false, CodeSTALE},
		{"past nextUpdate", next.Add(time.Minute), false, false, CodeSTALE},
	} {
		at := tt.at
		now.Store(&at)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		t.Logf("%s: /readyz %d %s", tt.name, rec.Code, rec.Body)
		var rz Readiness
		if err := json.Unmarshal(rec.Body.Bytes(), &rz); err != nil {
			t.Fatalf("%s: /readyz body %s: %v", tt.name, rec.Body, err)
		}
		wantCode := http.StatusOK
		if !tt.ready {
			wantCode = http.StatusServiceUnavailable
		}
		stamp := next.UTC().Format(time.RFC3339)
		switch {
		case rec.Code != wantCode || rz.Ready != tt.ready:
			t.Errorf("%s: /readyz %d %s, want %d ready=%v", tt.name, rec.Code, rec.Body, wantCode, tt.ready)
		case !tt.ready && (len(rz.Reasons) != 1 || !strings.Contains(rz.Reasons[0], "CRL") || !strings.Contains(rz.Reasons[0], stamp)):
			t.Errorf("%s: reasons %q, want one naming the CRL and its nextUpdate %s", tt.name, rz.Reasons, stamp)
		case tt.warning && (len(rz.Warnings) != 1 || !strings.Contains(rz.Warnings[0], "past half its lifetime") || !strings.Contains(rz.Warnings[0], stamp)):
			t.Errorf("%s: warnings %q, want one saying the CRL is past half its lifetime, naming nextUpdate %s", tt.name, rz.Warnings, stamp)
		case !tt.warning && len(rz.Warnings) != 0:
			t.Errorf("%s: warnings %q, want none", tt.name, rz.Warnings)
		}
		if got := gauge(t, reg, "smki_verifier_ready"); (got == 1) != tt.ready {
			t.Errorf("%s: smki_verifier_ready %v, want ready=%v", tt.name, got, tt.ready)
		}
		if d := v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, uint64(at.Unix())), s.sc, true), at); d.Code != tt.decision {
			t.Errorf("%s: Verify = %s %s, want %q", tt.name, d.Code, d.Reason, tt.decision)
		}
	}
}

// TestAddCRLSupersedes: a CRL added at runtime (AddCRL) with a higher
// number than a held one of the same issuer supersedes it for freshness
// (its revocations stay merged: never fail open), so the current ORL
// lifts the STALE of an expired one; one with a lower number changes no
// date.
func TestAddCRLSupersedes(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	old := s.pki.crl(t, testNow.Add(-2*time.Hour), testNow.Add(-time.Hour))
	v := s.verifier(t, func(o *Options) { o.CRLs = [][]byte{old} })
	if r := v.NotReady(); len(r) != 1 {
		t.Fatalf("with an expired CRL: NotReady %q, want one reason", r)
	}
	if err := v.AddCRL(s.pki.crl(t, testNow.Add(-time.Minute), testNow.Add(23*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if r := v.NotReady(); len(r) != 0 {
		t.Errorf("after AddCRL of the current CRL: NotReady %q, want ready", r)
	}
	if d := v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, true), testNow); d.Code != "" {
		t.Errorf("after AddCRL of the current CRL: Verify = %s %s, want accept", d.Code, d.Reason)
	}
	if err := v.AddCRL(s.pki.crl(t, testNow.Add(-3*time.Hour), testNow.Add(-2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if r := v.NotReady(); len(r) != 0 {
		t.Errorf("after AddCRL of an older CRL: NotReady %q, want still ready", r)
	}
}
