package accessguard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCoalescerCountsAddUp: refusals of one credential and code make one
// record at once and one with the rest's count at Flush; another code is
// another window; after Flush each refusal is recorded on its own.
func TestCoalescerCountsAddUp(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	c := NewCoalescer(func() time.Time { return time.Unix(1700000000, 0) }, func(_ context.Context, actor, subject, code, detail string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, actor+"|"+subject+"|"+code+"|"+detail)
	})
	ctx := context.Background()
	for range 5 {
		c.Refused(ctx, "unauthenticated:bob", "serial:01", "E_RA_OFFICER_INACTIVE", "superseded")
	}
	c.Refused(ctx, "unauthenticated:bob", "serial:01", "E_RA_UNAUTHENTICATED", "bad chain")
	if len(got) != 2 {
		t.Fatalf("before Flush: %d records, want 2 (the first of each window): %q", len(got), got)
	}
	c.Flush()
	c.Refused(ctx, "unauthenticated:bob", "serial:01", "E_RA_OFFICER_INACTIVE", "superseded")
	c.Refused(ctx, "unauthenticated:bob", "serial:01", "E_RA_OFFICER_INACTIVE", "superseded")
	total := 0
	for _, r := range got {
		var n int
		detail := r[strings.LastIndex(r, "|")+1:]
		if _, err := fmt.Sscanf(detail, "count=%d:", &n); err != nil {
			t.Fatalf("record without a count: %q", r)
		}
		total += n
	}
	if len(got) != 5 || total != 8 {
		t.Errorf("%d records counting %d refusals, want 5 records counting 8: %q", len(got), total, got)
	}
}
