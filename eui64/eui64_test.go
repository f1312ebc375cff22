package eui64

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-01-00-00", true},
		{"90b3d51f30010000", "90-B3-D5-1F-30-01-00-00", true},
		{"90:b3:d5:1f:30:01:00:00", "90-B3-D5-1F-30-01-00-00", true},
		{"90 B3 D5 1F 30 01 00 00", "90-B3-D5-1F-30-01-00-00", true},
		{"90-B3-D5-1F-30-01-00", "", false},
		{"90B-3D5-1F-30-01-00-00-0", "", false},
		{"90-B3-D5-1F-30-01-00-0G", "", false},
		{"", "", false},
		{"90-B3-D5-1F-30-01-00-00-00", "", false},
	}
	for _, tt := range tests {
		id, err := Parse(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("Parse(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) err = %v, want ErrInvalid", tt.in, err)
			}
			continue
		}
		if id.String() != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, id, tt.want)
		}
	}
}

func TestTextRoundTrip(t *testing.T) {
	t.Parallel()
	id := MustParse("00-DB-12-34-56-78-00-04")
	b, _ := id.MarshalText()
	var back ID
	if err := back.UnmarshalText(b); err != nil || back != id {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if id.Hex() != "00DB123456780004" {
		t.Fatalf("Hex = %s", id.Hex())
	}
	if _, err := FromBytes([]byte{1, 2}); !errors.Is(err, ErrInvalid) {
		t.Fatal("FromBytes accepted 2 bytes")
	}
}
