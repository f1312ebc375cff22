package verifier

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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
