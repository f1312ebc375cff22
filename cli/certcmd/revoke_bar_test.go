package certcmd

import (
	"strings"
	"testing"
	"time"
)

func TestRenderBar(t *testing.T) {
	t.Parallel()
	full, empty := "["+strings.Repeat("#", barMaxCells)+"]", "["+strings.Repeat("-", barMaxCells)+"]"
	tests := []struct {
		name        string
		done, total int
		elapsed     time.Duration
		width       int
		want        string
	}{
		{"half, 20 cells", 51200, 100000, 3 * time.Second, 65, "revoking [##########----------] 51,200/100,000  51%  3s"},
		{"capped cells", 256, 1000, 1400 * time.Millisecond, 200, "revoking [##########------------------------------] 256/1,000  25%  1s"},
		{"all marked", 300, 300, 65 * time.Second, 200, "revoking " + full + " 300/300  100%  1m5s"},
		{"none yet", 0, 300, 0, 200, "revoking " + empty + " 0/300  0%  0s"},
		{"too narrow for a bar", 51200, 100000, 3 * time.Second, 50, "revoking 51,200/100,000  51%  3s"},
		{"done past total is clamped", 310, 300, 0, 200, "revoking " + full + " 300/300  100%  0s"},
		{"negative done", -5, 300, 0, 200, "revoking " + empty + " 0/300  0%  0s"},
		{"zero total", 0, 0, 0, 200, "revoking " + full + " 0/0  100%  0s"},
	}
	for _, tc := range tests {
		if got := renderBar(tc.done, tc.total, tc.elapsed, tc.width); got != tc.want {
			t.Errorf("%s: renderBar(%d, %d, %s, %d) =\n%q, want\n%q", tc.name, tc.done, tc.total, tc.elapsed, tc.width, got, tc.want)
		}
	}
}

// The bar keeps its size while the numbers and the time grow, and the line
// never reaches the terminal's last column.
func TestRenderBarStable(t *testing.T) {
	t.Parallel()
	cells := func(s string) int { return strings.Index(s, "]") - strings.Index(s, "[") }
	for _, width := range []int{56, 65, 80, 120} {
		first := renderBar(1, 123456, 0, width)
		for _, p := range []struct {
			done    int
			elapsed time.Duration
		}{{1, 0}, {999, 9 * time.Second}, {61728, 10 * time.Minute}, {123456, 23*time.Hour + 59*time.Minute + 59*time.Second}} {
			got := renderBar(p.done, 123456, p.elapsed, width)
			if cells(got) != cells(first) || len(got) >= width {
				t.Errorf("width %d: %q after %q", width, got, first)
			}
		}
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 51200: "51,200", 100000: "100,000",
		1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
