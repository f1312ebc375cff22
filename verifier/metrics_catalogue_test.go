package verifier

import (
	"os"
	"path/filepath"
	"testing"

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
	reg, err := metricdoc.Registered(pr, "smki_")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := metricdoc.Catalogue(md, "verifier")
	if err != nil {
		t.Fatalf("docs/operations.md: %v", err)
	}
	for _, p := range metricdoc.Drift(cat, reg) {
		t.Error(p)
	}
	for _, p := range metricdoc.UnboundedLabels(reg) {
		t.Error(p)
	}
	// The unready handler (a sidecar whose trust directory does not
	// verify) registers a subset, catalogued alike.
	ur := prometheus.NewRegistry()
	UnreadyHandler(ur, []string{"x"})
	unready, err := metricdoc.Registered(ur, "smki_")
	if err != nil {
		t.Fatal(err)
	}
	for n, m := range unready {
		if _, ok := cat[n]; !ok || m.Type != "" && m.Type != cat[n].Type {
			t.Errorf("unready handler's %s (%s) not catalogued as such", n, m.Type)
		}
	}
}
