package xmldsig

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestLimitsCheck: each field of Limits is refused below zero and above
// its hard ceiling, naming the field; zero (the default) and the ceiling
// itself are taken.
func TestLimitsCheck(t *testing.T) {
	c := MaxLimits()
	tests := []struct {
		name  string
		lim   Limits
		field string // "" when Check takes lim
	}{
		{"zero", Limits{}, ""},
		{"defaults", DefaultLimits(), ""},
		{"ceilings", c, ""},
		{"MaxBytes over", Limits{MaxBytes: c.MaxBytes + 1}, "MaxBytes"},
		{"MaxDepth over", Limits{MaxDepth: math.MaxInt}, "MaxDepth"},
		{"MaxAttrs over", Limits{MaxAttrs: c.MaxAttrs + 1}, "MaxAttrs"},
		{"MaxNSDecls over", Limits{MaxNSDecls: c.MaxNSDecls + 1}, "MaxNSDecls"},
		{"MaxElements over", Limits{MaxElements: c.MaxElements + 1}, "MaxElements"},
		{"negative", Limits{MaxAttrs: -1}, "MaxAttrs"},
	}
	for _, tt := range tests {
		err := tt.lim.Check()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrLimits) || !strings.Contains(err.Error(), "Limits."+tt.field+" ") {
			t.Errorf("%s: err = %v, want ErrLimits naming Limits.%s", tt.name, err, tt.field)
		}
	}
}

// TestParseNeverPastCeilings: Parse given limits above the ceilings (a
// caller of this package that skipped Check) works to the ceilings, not
// to the limits given.
func TestParseNeverPastCeilings(t *testing.T) {
	d := MaxLimits().MaxDepth + 1
	doc := strings.Repeat("<a>", d) + strings.Repeat("</a>", d)
	_, err := Parse([]byte(doc), Limits{MaxDepth: math.MaxInt})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "nesting deeper than") {
		t.Fatalf("depth %d with MaxDepth MaxInt: %v, want MALFORMED nesting deeper than the ceiling", d, err)
	}
}
