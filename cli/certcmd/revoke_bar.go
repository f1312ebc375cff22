package certcmd

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// terminal returns w as a terminal file, if it is one: progress displays
// are drawn only there, never into a pipe or a log.
func terminal(w io.Writer) (*os.File, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// revokeBar draws a bulk revocation's progress on a terminal: "revoking..."
// until the RA reports, then a bar of marked serials, then "committing"
// while the transaction reissues the ORL and commits. The RA reports a
// few times a second at most; a ticker redraws in between so that the
// elapsed time moves.
type revokeBar struct {
	f     *os.File
	width int
	start time.Time

	mu          sync.Mutex
	done, total int
	seen        bool      // the RA has reported progress
	committing  time.Time // when all were marked; zero before
	quit        chan struct{}
	exited      chan struct{}
}

func startRevokeBar(f *os.File) *revokeBar {
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	b := &revokeBar{f: f, width: width, start: time.Now(), quit: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(b.exited)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.quit:
				return
			case <-t.C:
				b.mu.Lock()
				b.drawLocked()
				b.mu.Unlock()
			}
		}
	}()
	b.mu.Lock()
	b.drawLocked()
	b.mu.Unlock()
	return b
}

// update is the progress callback of raclient.Client.RevokeWithProgress.
func (b *revokeBar) update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.total, b.seen = done, total, true
	switch {
	case done >= total && b.committing.IsZero():
		// Keep the full bar on screen; the wait from here is the commit.
		fmt.Fprintf(b.f, "\r%s\033[K\n", renderBar(done, total, time.Since(b.start), b.width))
		b.committing = time.Now()
	case done < total && !b.committing.IsZero():
		// The store retried the transaction: marking starts over.
		fmt.Fprint(b.f, "\r\033[K")
		b.committing = time.Time{}
	}
	b.drawLocked()
}

func (b *revokeBar) drawLocked() {
	var line string
	switch {
	case !b.committing.IsZero():
		line = "committing (ORL reissue)... " + time.Since(b.committing).Round(time.Second).String()
	case b.seen:
		line = renderBar(b.done, b.total, time.Since(b.start), b.width)
	default:
		line = "revoking... " + time.Since(b.start).Round(time.Second).String()
	}
	fmt.Fprintf(b.f, "\r%s\033[K", line)
}

// stop ends the display before the summary (or error) is printed: a
// finished commit keeps its line, anything else is cleared.
func (b *revokeBar) stop() {
	close(b.quit)
	<-b.exited
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.committing.IsZero() {
		fmt.Fprintf(b.f, "\rcommitting (ORL reissue)... done in %s\033[K\n", time.Since(b.committing).Round(time.Millisecond))
		return
	}
	fmt.Fprint(b.f, "\r\033[K")
}

// Bar cells: as many as the terminal width allows, up to barMaxCells;
// below barMinCells the bar is left out and only the numbers shown.
const (
	barMaxCells = 40
	barMinCells = 10
)

// renderBar draws one progress line that fits in width columns, e.g.
//
//	revoking [##########----------] 51,200/100,000  51%  3s
//
// The last column stays free: writing it makes some terminals wrap.
func renderBar(done, total int, elapsed time.Duration, width int) string {
	total = max(total, 0)
	done = min(max(done, 0), total)
	pct := 100
	if total > 0 {
		pct = done * 100 / total
	}
	tail := fmt.Sprintf(" %s/%s  %d%%  %s", thousands(done), thousands(total), pct, elapsed.Round(time.Second))
	// The bar's size comes from the longest tail this total can have, so
	// that it does not shrink as the numbers and the time grow.
	longest := len(fmt.Sprintf(" %s/%s  100%%  00h00m00s", thousands(total), thousands(total)))
	const head = "revoking ["
	cells := min(width-1-len(head)-len("]")-longest, barMaxCells)
	if cells < barMinCells {
		return "revoking" + tail
	}
	fill := cells
	if total > 0 {
		fill = cells * done / total
	}
	return head + strings.Repeat("#", fill) + strings.Repeat("-", cells-fill) + "]" + tail
}

// thousands formats n with comma separators: 100000 -> "100,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out strings.Builder
	if neg {
		out.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out.WriteByte(',')
		}
		out.WriteRune(r)
	}
	return out.String()
}
