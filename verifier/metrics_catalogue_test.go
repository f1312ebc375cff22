package verifier

import (
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/internal/metricdoc"
)

// TestMetricsCatalogue: every smki_ metric the sidecar registers, with
// every option that adds some (a certificate source with an issuance
// list, a state file), is in docs/operations.md's catalogue with its
// type and labels, and every catalogued one is registered; no label's
// values grow with the data.
func TestMetricsCatalogue(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	st, err := OpenStateFile(filepath.Join(t.TempDir(), "state.log"), StateFileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o := s.options(s.bundle)
	o.Source = &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 2}
	o.Replay = st
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	pr := prometheus.NewRegistry()
	if _, err := NewMetrics(pr, v); err != nil {
		t.Fatal(err)
	}
	problems, err := metricdoc.Check(pr, filepath.Join("..", "docs", "operations.md"), "verifier")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	// The unready handler (a sidecar whose trust directory does not
	// verify) registers a subset of them, alike.
	ur := prometheus.NewRegistry()
	UnreadyHandler(ur, []string{"x"})
	unready, err := metricdoc.Registered(ur, "smki_")
	if err != nil {
		t.Fatal(err)
	}
	full, err := metricdoc.Registered(pr, "smki_")
	if err != nil {
		t.Fatal(err)
	}
	for n, m := range unready {
		if f, ok := full[n]; !ok || !slices.Equal(f.Labels, m.Labels) || m.Type != "" && f.Type != "" && m.Type != f.Type {
			t.Errorf("unready handler's %s %+v is not the ready sidecar's %+v", n, m, f)
		}
	}
}

// TestMetricsStaleData: the sidecar's data ageing shows before it is
// refused: smki_verifier_revocation_age_seconds grows with the clock
// against smki_verifier_max_age_seconds (the smaller of --max-age and
// the bundle's), and once past it smki_verifier_ready is 0.
func TestMetricsStaleData(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var now atomic.Pointer[time.Time]
	set := func(at time.Time) { now.Store(&at) }
	set(testNow.Add(time.Minute))
	v := s.verifier(t, func(o *Options) {
		o.Clock = func() time.Time { return *now.Load() }
		o.MaxAge = 10 * time.Minute
	})
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, v); err != nil {
		t.Fatal(err)
	}
	read := func() map[string]float64 {
		t.Helper()
		got, err := metricdoc.Values(reg)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	issued := v.Bundle().IssuedAt
	for _, tc := range []struct {
		after time.Duration
		ready float64
	}{{time.Minute, 1}, {9 * time.Minute, 1}, {11 * time.Minute, 0}} {
		set(issued.Add(tc.after))
		got := read()
		if got["smki_verifier_revocation_age_seconds"] != tc.after.Seconds() || got["smki_verifier_max_age_seconds"] != 600 ||
			got["smki_verifier_ready"] != tc.ready {
			t.Errorf("%s after the bundle: revocation age %v, max age %v, ready %v; want %v, 600, %v", tc.after,
				got["smki_verifier_revocation_age_seconds"], got["smki_verifier_max_age_seconds"], got["smki_verifier_ready"], tc.after.Seconds(), tc.ready)
		}
	}
}

// TestMetricsCRLNextUpdate: the sidecar exports the earliest nextUpdate
// of the CRLs in force (as smki serve's
// smki_crl_next_update_timestamp_seconds), so an operator is warned
// before a CRL running out makes every request STALE; without CRLs the
// series is left out rather than reported as 0 (long past).
func TestMetricsCRLNextUpdate(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, func(o *Options) { o.Clock = func() time.Time { return testNow } })
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, v); err != nil {
		t.Fatal(err)
	}
	const name = "smki_verifier_crl_next_update_timestamp_seconds"
	got, err := metricdoc.Values(reg)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got[name]; ok {
		t.Fatalf("without CRLs %s = %v, want it left out", name, v)
	}
	next := testNow.Add(3 * time.Hour).Truncate(time.Second)
	if err := v.AddCRL(s.pki.crl(t, testNow, next.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := v.AddCRL(s.pki.crl(t, testNow, next)); err != nil {
		t.Fatal(err)
	}
	if got, err = metricdoc.Values(reg); err != nil {
		t.Fatal(err)
	}
	if got[name] != float64(next.Unix()) {
		t.Fatalf("%s = %v, want the earliest nextUpdate %v", name, got[name], next.Unix())
	}
}
