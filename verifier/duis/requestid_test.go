package duis

import (
	"errors"
	"testing"
)

func TestParseRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, canon string
		counter   uint64
		ok        bool
	}{
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1002", "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1002", 1002, true},
		{"90-b3-d5-1f-30-01-00-00:00-db-12-34-56-78-90-a0:0", "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:0", 0, true},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551615", "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551615", 1<<64 - 1, true},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551616", "", 0, false}, // 2^64
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:01", "", 0, false},                   // leading zero
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:+1", "", 0, false},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:-1", "", 0, false},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:", "", 0, false},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0: 1", "", 0, false},
		{"90:B3:D5:1F:30:01:00:00:00-DB-12-34-56-78-90-A0:1", "", 0, false}, // colon-separated EUI
		{"90B3D51F30010000:00DB1234567890A0:1", "", 0, false},
		{"90-B3-D5-1F-30-01-00-0G:00-DB-12-34-56-78-90-A0:1", "", 0, false},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0", "", 0, false},
		{"", "", 0, false},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1:2", "", 0, false},
	}
	for _, tc := range tests {
		id, err := ParseRequestID(tc.in)
		if !tc.ok {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: err %v, want MALFORMED", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if id.String() != tc.canon || id.Counter != tc.counter {
			t.Errorf("%q: got %s (%d)", tc.in, id, id.Counter)
		}
	}
}

// FuzzRequestID: never panics; whatever parses round-trips through String.
func FuzzRequestID(f *testing.F) {
	f.Add("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1002")
	f.Add("90-b3-d5-1f-30-01-00-00:00-db-12-34-56-78-90-a0:18446744073709551615")
	f.Add("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:01")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseRequestID(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		again, err := ParseRequestID(id.String())
		if err != nil || again != id {
			t.Fatalf("round trip %q -> %q: %v", s, id.String(), err)
		}
	})
}
