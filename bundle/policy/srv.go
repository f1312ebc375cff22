package policy

import (
	"slices"
	"strconv"
	"strings"
)

// parseSRV splits a Service Reference Variant such as "1.6" or "6.15.1"
// into its numbers: two or three dot-separated decimals of one or two
// digits without leading zeros, as DUIS writes them.
func parseSRV(s string) ([]int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, false
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p[0] == '+' || p[0] == '-' {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// ValidSRV reports whether s is syntactically a Service Reference Variant.
func ValidSRV(s string) bool {
	_, ok := parseSRV(s)
	return ok
}

// compareSRV orders SRVs as DUIS lists them: numerically by component, so
// "1.6" < "1.7" < "4.10" < "11.1" and "1.1" < "1.1.1". Invalid SRVs sort
// last, by text.
func compareSRV(a, b string) int {
	x, okA := parseSRV(a)
	y, okB := parseSRV(b)
	switch {
	case okA && okB:
		return slices.Compare(x, y)
	case okA:
		return -1
	case okB:
		return 1
	}
	return strings.Compare(a, b)
}
