package repo

import (
	"fmt"
	"testing"
	"time"
)

// TestRateLimitNotResetByNewAddresses: a client that has spent its burst
// stays limited however many other addresses arrive; a flood of new
// addresses (a botnet, or one IPv6 host cycling through its addresses)
// that fills the table must not empty it and so hand every limited
// client, the flood's own included, a fresh burst.
func TestRateLimitNotResetByNewAddresses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(0.001, 2, func() time.Time { return now })
	for range 2 {
		if ok, _ := l.allow("198.51.100.7:1000"); !ok {
			t.Fatal("within the burst: refused")
		}
	}
	if ok, _ := l.allow("198.51.100.7:1000"); ok {
		t.Fatal("past the burst: allowed")
	}
	for i := range maxLimiterClients + 10 {
		l.allow(fmt.Sprintf("10.%d.%d.%d:1", i>>16&0xff, i>>8&0xff, i&0xff))
	}
	if ok, _ := l.allow("198.51.100.7:1000"); ok {
		t.Errorf("a client past its burst was allowed again after %d new addresses", maxLimiterClients+10)
	}
	if len(l.buckets) > maxLimiterClients {
		t.Errorf("%d buckets kept, at most %d", len(l.buckets), maxLimiterClients)
	}
}

// TestRateLimitIPv6ByPrefix: an IPv6 host holds a whole /64 and picks
// any address in it, so an address per request must not buy a burst per
// request: the /64 is one client. Another /64, and IPv4 addresses, are
// their own.
func TestRateLimitIPv6ByPrefix(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(0.001, 3, func() time.Time { return now })
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"[2001:db8:1:2::1]:1000", true},
		{"[2001:db8:1:2::2]:1000", true},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1000", true},
		{"[2001:db8:1:2:abcd::9]:1000", false}, // the same /64, past its burst
		{"[2001:db8:1:3::1]:1000", true},       // another /64
		{"[::ffff:198.51.100.7]:1000", true},   // IPv4-mapped: its IPv4 address
		{"198.51.100.7:1000", true},
		{"198.51.100.7:1001", true},
		{"198.51.100.7:1002", false},
		{"198.51.100.8:1000", true},
	} {
		if ok, _ := l.allow(tc.addr); ok != tc.want {
			t.Errorf("%s: allowed %v, want %v", tc.addr, ok, tc.want)
		}
	}
}
