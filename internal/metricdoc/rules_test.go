package metricdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestAlertRulesNameExposedMetrics: deploy/smki-alerts.yaml, the example
// Prometheus rules, is well formed (every rule an alert with an
// expression, a severity of page or ticket, and a summary saying what to
// do) and names only metrics in docs/operations.md's catalogues, which
// the servers' TestMetricsCatalogue hold to what they expose: a renamed
// or removed metric cannot leave a rule that never fires.
func TestAlertRulesNameExposedMetrics(t *testing.T) {
	root := filepath.Join("..", "..")
	rules, err := os.ReadFile(filepath.Join(root, "deploy", "smki-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]Metric{}
	for _, name := range []string{"serve", "verifier", "repo"} {
		c, err := Catalogue(md, name)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c {
			known[k] = v
		}
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(rules)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("deploy/smki-alerts.yaml: %v", err)
	}
	n := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" {
				t.Errorf("group %s: rule %q lacks an alert name, expression or summary", g.Name, r.Alert)
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, s)
			}
			names := RuleMetrics([]byte(r.Expr), known)
			if len(names) == 0 {
				t.Errorf("%s: expression names no smki_ metric: %s", r.Alert, r.Expr)
			}
			for _, m := range names {
				if _, ok := known[m]; !ok {
					t.Errorf("%s names %s, which no server exposes (docs/operations.md catalogue)", r.Alert, m)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("deploy/smki-alerts.yaml has no rules")
	}
}
