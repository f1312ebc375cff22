package bundle

import (
	"testing"
	"time"
)

// TestFromTheFuture: MaxClockSkew ahead is still current, a nanosecond
// beyond it is from the future; the past never is.
func TestFromTheFuture(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		d    time.Duration
		want bool
	}{
		{"a day ago", -24 * time.Hour, false},
		{"now", 0, false},
		{"MaxClockSkew ahead", MaxClockSkew, false},
		{"1ns beyond MaxClockSkew", MaxClockSkew + time.Nanosecond, true},
		{"a year ahead", 365 * 24 * time.Hour, true},
	} {
		if got := FromTheFuture(now.Add(tc.d), now); got != tc.want {
			t.Errorf("%s: FromTheFuture = %v, want %v", tc.name, got, tc.want)
		}
	}
}
