package server

import (
	"errors"
	"testing"
	"time"
)

func TestParseStoreSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, data string
		want     StoreSpec
		ok       bool
	}{
		{"", "/var/lib/smki", StoreSpec{Engine: "bbolt", Target: "/var/lib/smki/smki.db"}, true},
		{"", "", StoreSpec{}, false},
		{"bbolt:/tmp/s.db", "", StoreSpec{Engine: "bbolt", Target: "/tmp/s.db"}, true},
		{"bbolt:/tmp/s.db?batch=2ms", "", StoreSpec{Engine: "bbolt", Target: "/tmp/s.db", Batch: 2 * time.Millisecond}, true},
		{"bbolt:/tmp/s.db?batch=off", "", StoreSpec{Engine: "bbolt", Target: "/tmp/s.db", Alone: true}, true},
		{"bbolt:/tmp/s.db?batch=soon", "", StoreSpec{}, false},
		{"bbolt:/tmp/s.db?batch=-1ms", "", StoreSpec{}, false},
		{"bbolt:", "", StoreSpec{}, false},
		{"bbolt:?batch=1ms", "", StoreSpec{}, false},
		{"postgres://u@h/db", "", StoreSpec{Engine: "postgres", Target: "postgres://u@h/db"}, true},
		{"mysql://h/db", "", StoreSpec{}, false},
	}
	for _, tt := range tests {
		got, err := ParseStore(tt.in, tt.data)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("ParseStore(%q, %q) = %+v, %v; want %+v ok=%v", tt.in, tt.data, got, err, tt.want, tt.ok)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://u:secret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgres://u:se@cret@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://h/db?user=u&password=secret&sslmode=require", "postgres://h/db?user=u&password=xxxxx&sslmode=require"},
		{"postgres://u:a@h/db?PASSWORD=b&sslpassword=c", "postgres://u:xxxxx@h/db?PASSWORD=xxxxx&sslpassword=xxxxx"},
		{"postgres://h/db?passwordless=1", "postgres://h/db?passwordless=1"},
		{"postgres://h/a@b", "postgres://h/a@b"},
		{"bbolt:/tmp/x.db", "bbolt:/tmp/x.db"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
