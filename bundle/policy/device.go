package policy

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/smki/smki/internal/strictjson"
	"github.com/smki/smki/role"
)

// Capacity is what a User is registered as for a device in the
// registration data (the MPxN's Import Supplier, Network Operator, ...).
type Capacity string

// Registration capacities of a device.
const (
	ImportSupplier  Capacity = "import_supplier"
	ExportSupplier  Capacity = "export_supplier"
	GasSupplier     Capacity = "gas_supplier"
	SupplierAgent   Capacity = "supplier_agent"
	NetworkOperator Capacity = "network_operator"
)

// Capacities returns every capacity, in the order device files and
// docs/policy.md list them.
func Capacities() []Capacity {
	return []Capacity{ImportSupplier, ExportSupplier, GasSupplier, SupplierAgent, NetworkOperator}
}

// Valid reports whether c is one of Capacities.
func (c Capacity) Valid() bool {
	switch c {
	case ImportSupplier, ExportSupplier, GasSupplier, SupplierAgent, NetworkOperator:
		return true
	}
	return false
}

// RuleKind says how a role's eligibility for a target device is decided
// (E4).
type RuleKind string

// Device rule kinds.
const (
	// Registered: the user must be the device's registrant in the rule's
	// Capacity at the request time.
	Registered RuleKind = "registered"
	// AnyDevice: no registration needed; the device must be known to the
	// registry (unless the bundle says the registry is not authoritative
	// for the role).
	AnyDevice RuleKind = "any"
	// SoLR: the SC rule (an approved SoLR event for the failed Supplier's
	// devices, within an ADT file), decided by the verifier.
	SoLR RuleKind = "solr"
)

// DeviceRule is one role's device eligibility.
type DeviceRule struct {
	Role     role.UserRole
	Kind     RuleKind
	Capacity Capacity // for Registered; "" otherwise
	Source   string   // the DUIS clause (or project rule) it implements
}

// DeviceRules is the role -> device-eligibility table. Immutable once
// built, safe for concurrent use.
type DeviceRules struct {
	rules map[role.UserRole]DeviceRule
}

//go:embed default-device-rules.json
var defaultDeviceFile []byte

var defaultDeviceOnce = sync.OnceValue(func() *DeviceRules {
	r, err := ParseDeviceRules(defaultDeviceFile)
	if err != nil {
		// Unreachable unless the embedded file is broken, which
		// TestDeviceRulesDefault would have caught before release.
		panic(fmt.Sprintf("policy: embedded default-device-rules.json: %v", err))
	}
	return r
})

// DefaultDeviceRules returns the embedded default-device-rules.json: a
// rule for every User Role. The result is shared and immutable.
func DefaultDeviceRules() *DeviceRules { return defaultDeviceOnce() }

// Rule returns role r's device rule; ok is false for an unknown role
// (which no device is allowed to: default deny).
func (d *DeviceRules) Rule(r role.UserRole) (DeviceRule, bool) {
	x, ok := d.rules[r]
	return x, ok
}

// CapacityOf returns the capacity role r is registered in (Registered
// rules only).
func (d *DeviceRules) CapacityOf(r role.UserRole) (Capacity, bool) {
	x, ok := d.rules[r]
	if !ok || x.Kind != Registered {
		return "", false
	}
	return x.Capacity, true
}

// All returns every rule in role.All order.
func (d *DeviceRules) All() []DeviceRule {
	var out []DeviceRule
	for _, r := range role.All() {
		if x, ok := d.rules[r]; ok {
			out = append(out, x)
		}
	}
	return out
}

// MarkdownTable renders the rules as the table in docs/policy.md (a test
// keeps the document current).
func (d *DeviceRules) MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| role | rule | registered as | source |\n|---|---|---|---|\n")
	for _, x := range d.All() {
		c := string(x.Capacity)
		if c == "" {
			c = "-"
		} else {
			c = "`" + c + "`"
		}
		fmt.Fprintf(&b, "| %s (%s) | `%s` | %s | %s |\n", x.Role, x.Role.Name(), x.Kind, c, x.Source)
	}
	return b.String()
}

type deviceDoc struct {
	Version *int                      `json:"version"`
	Roles   map[string]deviceRuleJSON `json:"roles"`
}

type deviceRuleJSON struct {
	Rule     string `json:"rule"`
	Capacity string `json:"capacity"`
	DUIS     string `json:"duis"`
}

// ParseDeviceRules reads a device-rule document (docs/policy.md) strictly:
// version 1; a rule for every User Role role.All knows, no other key;
// "registered" with a known capacity, "any" and "solr" without one; SC
// (and only SC) "solr"; a non-empty duis source. Any failure is
// ErrInvalid.
func ParseDeviceRules(data []byte) (*DeviceRules, error) {
	if len(data) > maxDocument {
		return nil, fmt.Errorf("%w: document of %d bytes exceeds %d", ErrInvalid, len(data), maxDocument)
	}
	var doc deviceDoc
	if err := strictjson.Decode(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if doc.Version == nil || *doc.Version != FormatVersion {
		return nil, fmt.Errorf("%w: version must be %d", ErrInvalid, FormatVersion)
	}
	out := &DeviceRules{rules: make(map[role.UserRole]DeviceRule, len(doc.Roles))}
	for k, v := range doc.Roles {
		r, err := role.Parse(k)
		if err != nil || string(r) != k {
			return nil, fmt.Errorf("%w: role %q: must be an upper-case User Role code", ErrInvalid, k)
		}
		x := DeviceRule{Role: r, Kind: RuleKind(v.Rule), Capacity: Capacity(v.Capacity), Source: v.DUIS}
		switch x.Kind {
		case Registered:
			if !x.Capacity.Valid() {
				return nil, fmt.Errorf("%w: role %s: capacity %q is not one of %v", ErrInvalid, r, v.Capacity, Capacities())
			}
		case AnyDevice, SoLR:
			if x.Capacity != "" {
				return nil, fmt.Errorf("%w: role %s: rule %q takes no capacity", ErrInvalid, r, x.Kind)
			}
		default:
			return nil, fmt.Errorf("%w: role %s: rule %q, want registered, any or solr", ErrInvalid, r, v.Rule)
		}
		if (x.Kind == SoLR) != (r == role.SoLRContingency) {
			return nil, fmt.Errorf("%w: role %s: the solr rule is SC's, and SC's rule is solr", ErrInvalid, r)
		}
		if strings.TrimSpace(x.Source) == "" {
			return nil, fmt.Errorf("%w: role %s: duis source missing", ErrInvalid, r)
		}
		out.rules[r] = x
	}
	for _, r := range role.All() {
		if _, ok := out.rules[r]; !ok {
			return nil, fmt.Errorf("%w: no device rule for role %s", ErrInvalid, r)
		}
	}
	return out, nil
}
