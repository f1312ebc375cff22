package eui64

import (
	"encoding/hex"
	"strings"
	"testing"
)

// parseReference is Parse as it was before its fast paths (the general
// case it still falls back to): the model the fuzz target holds Parse to.
func parseReference(s string) (ID, bool) {
	var id ID
	clean := strings.Map(func(r rune) rune {
		switch r {
		case '-', ':', ' ':
			return -1
		}
		return r
	}, s)
	if len(clean) != 16 {
		return id, false
	}
	if clean != s {
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == ':' || r == ' ' })
		if len(parts) != 8 {
			return id, false
		}
		for _, p := range parts {
			if len(p) != 2 {
				return id, false
			}
		}
	}
	if _, err := hex.Decode(id[:], []byte(clean)); err != nil {
		return ID{}, false
	}
	return id, true
}

// FuzzParseAgreesWithReference: Parse accepts exactly what the reference
// accepts, with the same ID, whichever path it takes.
func FuzzParseAgreesWithReference(f *testing.F) {
	for _, s := range []string{"90-B3-D5-1F-30-01-00-00", "90b3d51f30010000", "90:b3:d5:1f:30:01:00:00", "90 B3 D5 1F 30 01 00 00",
		"90-B3:D5 1F-30-01-00-00", " 90-B3-D5-1F-30-01-00-00 ", "90--B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-01-00-0G", "", "90B3-D51F-3001-0000",
		"90-B3-D5-1F-30-01-00-0\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		want, ok := parseReference(s)
		if (err == nil) != ok || got != want {
			t.Fatalf("Parse(%q) = %s, %v; the reference: %s, ok %v", s, got, err, want, ok)
		}
	})
}

// BenchmarkParse: the canonical form (every ID smki prints and stores,
// and what a bundle of a million devices holds two million of) and the
// bare hex form, which take the fast path, and a spaced one, which does not.
func BenchmarkParse(b *testing.B) {
	for _, s := range []string{"90-B3-D5-1F-30-01-00-00", "90b3d51f30010000", "90 B3 D5 1F 30 01 00 00 "} {
		b.Run(strings.ReplaceAll(s, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
