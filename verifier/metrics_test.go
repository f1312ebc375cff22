package verifier

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics: the instrumented handler counts each decision by code,
// times Verify, exports the data's age and sequence and follower errors
// on /metrics, from its own registry.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	now := testNow.Add(time.Minute)
	v := s.verifier(t, func(o *Options) { o.Clock = func() time.Time { return now } })
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, v); !errors.Is(err, ErrConfig) {
		t.Fatalf("registering twice: %v", err)
	}
	srv := httptest.NewServer(InstrumentedHandler(m, 4096))
	defer srv.Close()
	post := func(body []byte) {
		resp, err := http.Post(srv.URL+"/v1/verify", "application/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	msg := sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false)
	post(msg)
	post(msg)                             // REPLAY
	post([]byte("<x>"))                   // MALFORMED, parsed
	post(bytes.Repeat([]byte{'<'}, 5000)) // MALFORMED, over the body cap
	// A follower that fails is counted through OnError.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer bad.Close()
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{Verifier: v, BaseURL: bad.URL, RetryDelay: time.Millisecond, BundleInterval: time.Hour,
		OnError: func(kind string, err error) {
			m.FollowerError(kind, err)
			if kind == FollowRevocations {
				cancel()
			}
		}}
	_ = f.Run(ctx)

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`smki_verifier_decisions_total{code="",decision="accept"} 1`,
		`smki_verifier_decisions_total{code="REPLAY",decision="reject"} 1`,
		`smki_verifier_decisions_total{code="MALFORMED",decision="reject"} 2`,
		`smki_verifier_decisions_total{code="SIG",decision="reject"} 0`,
		`smki_verifier_verify_seconds_count 3`,
		"smki_verifier_bundle_age_seconds " + formatFloat(now.Sub(v.Bundle().IssuedAt).Seconds()),
		"smki_verifier_revocation_seq " + formatFloat(float64(v.RevocationSeq())),
		`smki_verifier_follower_errors_total{kind="revocations"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// formatFloat writes f as the Prometheus text format does.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestMetricsNoAlloc: counting and timing a decision allocates nothing,
// so instrumentation cannot slow the request path through the GC.
func TestMetricsNoAlloc(t *testing.T) {
	s := newScenario(t)
	m, err := NewMetrics(prometheus.NewRegistry(), s.verifier(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	d := reject(CodeREPLAY, "x")
	if n := testing.AllocsPerRun(1000, func() {
		t0 := time.Now()
		m.Count(d)
		m.latency.Observe(time.Since(t0).Seconds())
	}); n != 0 {
		t.Fatalf("%v allocations per decision", n)
	}
}

// TestUnreadyHandlerCountsRefusals: a sidecar that has no verifier yet
// (its bundle does not verify, say) counts each request it refuses in
// smki_verifier_decisions_total{decision="reject",code="STALE"}, as a
// ready one counts its decisions. Before, its /metrics had only
// smki_verifier_ready 0: a dashboard or alert on the decisions saw no
// traffic at all while every request was being refused.
func TestUnreadyHandlerCountsRefusals(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := UnreadyHandler(reg, []string{"--bundle b.json: E_ENVELOPE_SIGNER: ..."})
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/verify", strings.NewReader("<x/>")))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"code":"STALE"`) {
			t.Fatalf("POST /v1/verify while not ready: %d %s, want 200 STALE", rec.Code, rec.Body)
		}
	}
	if got := counterValue(t, reg, "smki_verifier_decisions_total", "code", CodeSTALE); got != 2 {
		t.Fatalf("refusals counted %v, want 2", got)
	}
	if got := gaugeValue(t, reg, "smki_verifier_ready"); got != 0 {
		t.Fatalf("smki_verifier_ready %v, want 0", got)
	}
}
