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
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
