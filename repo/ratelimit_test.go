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
