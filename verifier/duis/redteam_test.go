package duis

import (
	"errors"
	"strings"
	"testing"
)

// Red-team (h13): the Service Reference Variant must belong to the Service
// Reference, so that what eligibility checks (the SRV) and what the DCC or
// audit may read (the SR) cannot disagree.
func TestRedTeamServiceReferencePair(t *testing.T) {
	t.Parallel()
	pair := func(sr, srv string) string {
		h := strings.Replace(hdrFmt, "CV", "4", 1)
		h = strings.Replace(h, ">1.6</sr:ServiceReference>", ">"+sr+"</sr:ServiceReference>", 1)
		h = strings.Replace(h, ">1.6</sr:ServiceReferenceVariant>", ">"+srv+"</sr:ServiceReferenceVariant>", 1)
		return request("4", h, credit)
	}
	tests := []struct {
		attack, sr, srv string
		ok              bool
	}{
		{"equal", "1.6", "1.6", true},
		{"variant of the SR", "6.15", "6.15.1", true},
		{"SR 3.2 carrying SRV 1.6", "3.2", "1.6", false},
		{"SR 1.6 carrying SRV 3.2", "1.6", "3.2", false},
		{"numeric lookalike SR 1.60", "1.60", "1.6", false},
		{"textual prefix without a dot", "1.1", "1.10", false},
		{"SRV shorter than SR", "6.15.1", "6.15", false},
	}
	for _, tc := range tests {
		t.Run(tc.attack, func(t *testing.T) {
			t.Parallel()
			req, err := FromElement(verified(t, []byte(pair(tc.sr, tc.srv))))
			if tc.ok != (err == nil) || (!tc.ok && (!errors.Is(err, ErrMalformed) || req != nil)) {
				t.Fatalf("SR %s SRV %s: %v, want ok=%v", tc.sr, tc.srv, err, tc.ok)
			}
		})
	}
}
