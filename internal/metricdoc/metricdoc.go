package metricdoc

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric is one catalogued or registered metric family.
type Metric struct {
	Name   string
	Type   string   // counter, gauge, histogram; "" when not known (a vector with no series yet)
	Labels []string // sorted
}

// Catalogue reads the table NAME from md.
func Catalogue(md []byte, name string) (map[string]Metric, error) {
	text := string(md)
	open, end := "<!-- metrics "+name+" -->", "<!-- end metrics "+name+" -->"
	i, j := strings.Index(text, open), strings.Index(text, end)
	if i < 0 || j < i {
		return nil, fmt.Errorf("no %q ... %q table", open, end)
	}
	out := map[string]Metric{}
	for _, line := range strings.Split(text[i+len(open):j], "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 5 {
			return nil, fmt.Errorf("row %q: want name, type, labels, meaning, action", line)
		}
		m := Metric{Name: strings.Trim(strings.TrimSpace(cells[0]), "`"), Type: strings.TrimSpace(cells[1])}
		for _, l := range backquoted.FindAllStringSubmatch(parenthesised.ReplaceAllString(cells[2], ""), -1) {
			m.Labels = append(m.Labels, l[1])
		}
		sort.Strings(m.Labels)
		if _, dup := out[m.Name]; dup {
			return nil, fmt.Errorf("%s catalogued twice", m.Name)
		}
		if strings.TrimSpace(cells[3]) == "" || strings.TrimSpace(cells[4]) == "" {
			return nil, fmt.Errorf("%s: no meaning or no action", m.Name)
		}
		out[m.Name] = m
	}
	return out, nil
}

var (
	backquoted    = regexp.MustCompile("`([^`]+)`")
	parenthesised = regexp.MustCompile(`\([^)]*\)`)
	descName      = regexp.MustCompile(`^Desc\{fqName: "([^"]*)"`)
	descLabels    = regexp.MustCompile(`variableLabels: \{([^}]*)\}\}$`)
)

// Registered returns the families registered on reg whose names start
// with prefix: every one, a vector with no series yet included (from
// Describe), typed where it has series (from Gather).
func Registered(reg *prometheus.Registry, prefix string) (map[string]Metric, error) {
	out := map[string]Metric{}
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	for d := range ch {
		s := d.String()
		n, l := descName.FindStringSubmatch(s), descLabels.FindStringSubmatch(s)
		if n == nil || l == nil {
			return nil, fmt.Errorf("unreadable descriptor %s", s)
		}
		if !strings.HasPrefix(n[1], prefix) {
			continue
		}
		m := Metric{Name: n[1]}
		for _, x := range strings.Split(l[1], ",") {
			if x != "" {
				m.Labels = append(m.Labels, strings.TrimSuffix(strings.TrimPrefix(x, "c("), ")"))
			}
		}
		sort.Strings(m.Labels)
		out[m.Name] = m
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	for _, mf := range mfs {
		if m, ok := out[mf.GetName()]; ok {
			m.Type = strings.ToLower(mf.GetType().String())
			out[m.Name] = m
		}
	}
	return out, nil
}

// Drift returns how the catalogue and the registered families differ:
// a family not catalogued, a catalogued one not registered, and a type
// or label set that disagrees.
func Drift(catalogued, registered map[string]Metric) []string {
	var out []string
	for _, n := range sortedKeys(registered) {
		r := registered[n]
		c, ok := catalogued[n]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s is exposed but not catalogued", n))
		case r.Type != "" && r.Type != c.Type:
			out = append(out, fmt.Sprintf("%s is a %s, catalogued as a %s", n, r.Type, c.Type))
		case !slices.Equal(r.Labels, c.Labels):
			out = append(out, fmt.Sprintf("%s has labels %v, catalogued with %v", n, r.Labels, c.Labels))
		}
	}
	for _, n := range sortedKeys(catalogued) {
		if _, ok := registered[n]; !ok {
			out = append(out, fmt.Sprintf("%s is catalogued but not exposed", n))
		}
	}
	return out
}

// unboundedLabels are label names whose values grow with the data: one
// series per certificate, user, officer or URL would grow a Prometheus
// without bound. A metric's labels must come from a closed set (a
// profile, a reason, an error code, a route pattern).
var unboundedLabels = []string{"serial", "user", "user_id", "party", "party_id", "officer", "actor",
	"device", "subject", "path", "url", "id", "remote", "addr", "request_id", "job"}

// UnboundedLabels returns the registered families that carry a label
// named for a value without bound (unboundedLabels).
func UnboundedLabels(registered map[string]Metric) []string {
	var out []string
	for _, n := range sortedKeys(registered) {
		for _, l := range registered[n].Labels {
			if slices.Contains(unboundedLabels, l) {
				out = append(out, fmt.Sprintf("%s has label %q, whose values have no bound", n, l))
			}
		}
	}
	return out
}

// Series counts reg's series per family whose name starts with prefix.
func Series(reg prometheus.Gatherer, prefix string) (map[string]int, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), prefix) {
			out[mf.GetName()] = len(mf.GetMetric())
		}
	}
	return out, nil
}

var ruleMetric = regexp.MustCompile(`\bsmki_[a-z0-9_]*[a-z0-9]`)

// RuleMetrics returns the metric families an alerting-rule file names
// (every smki_ word in it), a histogram's _bucket, _sum and _count
// series named by their family when catalogued marks it a histogram.
func RuleMetrics(rules []byte, catalogued map[string]Metric) []string {
	seen := map[string]bool{}
	for _, w := range ruleMetric.FindAllString(string(rules), -1) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if fam, ok := strings.CutSuffix(w, suf); ok && catalogued[fam].Type == "histogram" {
				w = fam
			}
		}
		seen[w] = true
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Check compares the smki_ families registered on reg with the catalogue
// name in the Markdown file at path (docs/operations.md): Drift and
// UnboundedLabels together, what a server's catalogue test reports.
func Check(reg *prometheus.Registry, path, name string) ([]string, error) {
	md, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cat, err := Catalogue(md, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	registered, err := Registered(reg, "smki_")
	if err != nil {
		return nil, err
	}
	return append(Drift(cat, registered), UnboundedLabels(registered)...), nil
}

// Values returns g's counter and gauge values by series: the name, then
// each label as {name="value"} in Gather's order (`m{a="x"}{b="y"}`).
func Values(g prometheus.Gatherer) (map[string]float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += `{` + l.GetName() + `="` + l.GetValue() + `"}`
			}
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			out[key] = v
		}
	}
	return out, nil
}
