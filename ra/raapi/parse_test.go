package raapi

import (
	"errors"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
)

func TestParseEUI(t *testing.T) {
	t.Parallel()
	good := eui64.MustParse("90-B3-D5-1F-30-01-00-01")
	tests := []struct {
		name     string
		in       string
		required bool
		want     eui64.ID
		wantErr  bool
	}{
		{"required good", "90-B3-D5-1F-30-01-00-01", true, good, false},
		{"required compact", "90B3D51F30010001", true, good, false},
		{"required empty", "", true, eui64.ID{}, true},
		{"required bad", "nope", true, eui64.ID{}, true},
		{"optional empty", "", false, eui64.ID{}, false},
		{"optional good", "90-B3-D5-1F-30-01-00-01", false, good, false},
		{"optional bad", "90-B3", false, eui64.ID{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parse := OptEUI
			if tc.required {
				parse = ParseEUI
			}
			got, err := parse("user", tc.in)
			if tc.wantErr {
				if !errors.Is(err, raerr.ErrInvalidID) {
					t.Fatalf("got %v, want %v", err, raerr.ErrInvalidID)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}
