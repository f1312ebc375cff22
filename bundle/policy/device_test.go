package policy

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/smki/smki/role"
)

func TestDeviceRulesDefault(t *testing.T) {
	t.Parallel()
	d := DefaultDeviceRules()
	want := map[role.UserRole]struct {
		kind RuleKind
		c    Capacity
	}{
		role.ImportSupplier:          {Registered, ImportSupplier},
		role.ExportSupplier:          {Registered, ExportSupplier},
		role.GasSupplier:             {Registered, GasSupplier},
		role.RegisteredSupplierAgent: {Registered, SupplierAgent},
		role.ElectricityDistributor:  {Registered, NetworkOperator},
		role.GasTransporter:          {Registered, NetworkOperator},
		role.OtherUser:               {AnyDevice, ""},
		role.SoLRContingency:         {SoLR, ""},
	}
	// Every role the SRV matrix lets send anything has a rule.
	for _, r := range role.All() {
		if len(Default().AllowList(r)) == 0 {
			continue
		}
		x, ok := d.Rule(r)
		if !ok {
			t.Fatalf("role %s of the SRV matrix has no device rule", r)
		}
		if w := want[r]; x.Kind != w.kind || x.Capacity != w.c || x.Source == "" {
			t.Errorf("role %s: %+v, want %v %q", r, x, w.kind, w.c)
		}
	}
	if _, ok := d.Rule("XX"); ok {
		t.Error("unknown role has a rule")
	}
	if c, ok := d.CapacityOf(role.OtherUser); ok {
		t.Errorf("OU has capacity %q", c)
	}
}

// TestPolicyDocDeviceTable keeps docs/policy.md's role -> registration
// table equal to the embedded rules.
func TestPolicyDocDeviceTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), DefaultDeviceRules().MarkdownTable()) {
		t.Fatalf("docs/policy.md lacks the device-rule table; paste:\n%s", DefaultDeviceRules().MarkdownTable())
	}
}

func TestParseDeviceRulesRejects(t *testing.T) {
	t.Parallel()
	ok := string(defaultDeviceFile)
	if _, err := ParseDeviceRules([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"not JSON":           `{`,
		"version 2":          strings.Replace(ok, `"version": 1`, `"version": 2`, 1),
		"unknown capacity":   strings.Replace(ok, `"capacity": "import_supplier"`, `"capacity": "importer"`, 1),
		"registered without": strings.Replace(ok, `, "capacity": "import_supplier"`, ``, 1),
		"any with capacity":  strings.Replace(ok, `"rule": "any"`, `"rule": "any", "capacity": "gas_supplier"`, 1),
		"unknown rule":       strings.Replace(ok, `"rule": "any"`, `"rule": "all"`, 1),
		"solr for OU":        strings.Replace(ok, `"rule": "any"`, `"rule": "solr"`, 1),
		"SC not solr":        strings.Replace(ok, `"SC": {"rule": "solr"`, `"SC": {"rule": "any"`, 1),
		"role missing":       strings.Replace(ok, `"OU": {"rule": "any", `, `"XX": {"rule": "any", `, 1),
		"lower-case role":    strings.Replace(ok, `"OU":`, `"ou":`, 1),
		"no source":          strings.Replace(ok, `"duis": "DUIS, User Roles: an Other User`, `"duis": " ", "x": "`, 1),
		"duplicate role":     strings.Replace(ok, `"OU": {`, `"IS": {"rule": "any", "duis": "x"}, "OU": {`, 1),
	} {
		if _, err := ParseDeviceRules([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}
