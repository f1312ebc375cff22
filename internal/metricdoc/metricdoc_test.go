package metricdoc

import (
	"slices"
	"strings"
	"testing"
)

const table = "<!-- metrics x -->\n| Metric | Type | Labels | Meaning | When |\n|---|---|---|---|---|\n" +
	"| `a_total` | counter | `code`, `kind` (`p`, `q`) | m | do |\n| `b_seconds` | histogram | — | m | do |\n<!-- end metrics x -->\n"

func TestCatalogue(t *testing.T) {
	c, err := Catalogue([]byte(table), "x")
	if err != nil {
		t.Fatal(err)
	}
	if a := c["a_total"]; a.Type != "counter" || !slices.Equal(a.Labels, []string{"code", "kind"}) {
		t.Errorf("a_total: %+v", a)
	}
	if b := c["b_seconds"]; b.Type != "histogram" || len(b.Labels) != 0 {
		t.Errorf("b_seconds: %+v", b)
	}
	for _, bad := range []string{"", strings.Replace(table, "| m | do |\n| `b", "|  | do |\n| `b", 1),
		strings.Replace(table, "b_seconds", "a_total", 1)} {
		if _, err := Catalogue([]byte(bad), "x"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestDriftAndLabels(t *testing.T) {
	cat := map[string]Metric{"a": {Name: "a", Type: "counter", Labels: []string{"code"}}, "gone": {Name: "gone", Type: "gauge"}}
	reg := map[string]Metric{"a": {Name: "a", Type: "gauge", Labels: []string{"code"}}, "new": {Name: "new", Labels: []string{"serial"}}}
	got := strings.Join(Drift(cat, reg), "\n")
	for _, want := range []string{"a is a gauge, catalogued as a counter", "new is exposed but not catalogued", "gone is catalogued but not exposed"} {
		if !strings.Contains(got, want) {
			t.Errorf("Drift lacks %q:\n%s", want, got)
		}
	}
	if u := UnboundedLabels(reg); len(u) != 1 || !strings.Contains(u[0], `"serial"`) {
		t.Errorf("UnboundedLabels: %v", u)
	}
}

func TestRuleMetrics(t *testing.T) {
	cat := map[string]Metric{"smki_v_seconds": {Type: "histogram"}}
	rules := "expr: histogram_quantile(0.99, rate(smki_v_seconds_bucket[5m])) > 1 and smki_x_total > 0\n"
	if got := RuleMetrics([]byte(rules), cat); !slices.Equal(got, []string{"smki_v_seconds", "smki_x_total"}) {
		t.Errorf("RuleMetrics: %v", got)
	}
}
