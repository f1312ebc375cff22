package cli

import (
	"testing"
	"time"
)

func TestParseStoreSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, data string
		want     storeSpec
		ok       bool
	}{
		{"", "/var/lib/smki", storeSpec{engine: "bbolt", target: "/var/lib/smki/smki.db"}, true},
		{"", "", storeSpec{}, false},
		{"bbolt:/tmp/s.db", "", storeSpec{engine: "bbolt", target: "/tmp/s.db"}, true},
		{"bbolt:/tmp/s.db?batch=2ms", "", storeSpec{engine: "bbolt", target: "/tmp/s.db", batch: 2 * time.Millisecond}, true},
		{"bbolt:/tmp/s.db?batch=soon", "", storeSpec{}, false},
		{"bbolt:/tmp/s.db?batch=-1ms", "", storeSpec{}, false},
		{"bbolt:", "", storeSpec{}, false},
		{"bbolt:?batch=1ms", "", storeSpec{}, false},
		{"postgres://u@h/db", "", storeSpec{engine: "postgres", target: "postgres://u@h/db"}, true},
		{"mysql://h/db", "", storeSpec{}, false},
	}
	for _, tt := range tests {
		got, err := parseStoreSpec(tt.in, tt.data)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseStoreSpec(%q, %q) = %+v, %v; want %+v ok=%v", tt.in, tt.data, got, err, tt.want, tt.ok)
		}
	}
}
