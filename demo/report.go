package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Step is one numbered step of the demo as reported (and as --json
// writes it).
type Step struct {
	N       int      `json:"n"`
	Title   string   `json:"title"`
	OK      bool     `json:"ok"`
	Detail  string   `json:"detail,omitempty"`
	Lines   []string `json:"lines,omitempty"`
	Error   string   `json:"error,omitempty"`
	Seconds float64  `json:"seconds"`
}

// Report is the whole run, as --json writes it.
type Report struct {
	OK     bool         `json:"ok"`
	Server string       `json:"server,omitempty"`
	Data   string       `json:"data,omitempty"`
	Steps  []Step       `json:"steps"`
	Stream []StreamCase `json:"stream,omitempty"`
	Failed string       `json:"failed,omitempty"` // "step N (title): why"
}

// Output modes of the reporter.
const (
	modePlain = iota // one line per finished step: logs, pipes, CI
	modeTTY          // a live spinner line for the running step
	modeJSON         // nothing until the end, then the Report
)

// reporter prints steps as they finish. On a terminal a goroutine redraws
// the running step's line with a spinner and its elapsed time; that line
// is replaced by the result, so scrollback holds only results.
type reporter struct {
	w     io.Writer
	mode  int
	clock func() time.Time

	mu      sync.Mutex
	rep     Report
	running string // the spinner's step line, "" when idle
	started time.Time
	stop    chan struct{}
	stopped chan struct{}
}

func newReporter(w io.Writer, mode int, clock func() time.Time) *reporter {
	return &reporter{w: w, mode: mode, clock: clock, rep: Report{Steps: []Step{}}}
}

// header prints free text before the steps (not in JSON mode).
func (r *reporter) header(format string, a ...any) {
	if r.mode == modeJSON {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", a...)
}

// begin announces step n.
func (r *reporter) begin(n int, title string) {
	if r.mode != modeTTY {
		return
	}
	r.mu.Lock()
	r.running = fmt.Sprintf("%2d. %s", n, title)
	r.started = r.clock()
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	stop, stopped := r.stop, r.stopped
	r.mu.Unlock()
	go r.spin(stop, stopped)
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (r *reporter) spin(stop, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		r.mu.Lock()
		fmt.Fprintf(r.w, "\r\033[K%s %s  %.1fs", spinFrames[i%len(spinFrames)], r.running, r.clock().Sub(r.started).Seconds())
		r.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// end records and prints a finished step.
func (r *reporter) end(s Step) {
	if r.stop != nil {
		close(r.stop)
		<-r.stopped
		r.stop, r.stopped = nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Steps = append(r.rep.Steps, s)
	if r.mode == modeJSON {
		return
	}
	if r.mode == modeTTY {
		fmt.Fprint(r.w, "\r\033[K")
	}
	mark := "✓"
	if !s.OK {
		mark = "✗"
	}
	if r.mode == modeTTY {
		if s.OK {
			mark = "\033[32m✓\033[0m"
		} else {
			mark = "\033[31m✗\033[0m"
		}
	}
	line := fmt.Sprintf("%s %2d. %s", mark, s.N, s.Title)
	if s.Detail != "" {
		line += " — " + s.Detail
	}
	fmt.Fprintf(r.w, "%s  (%.1fs)\n", line, s.Seconds)
	for _, l := range s.Lines {
		fmt.Fprintf(r.w, "       %s\n", l)
	}
	if s.Error != "" {
		fmt.Fprintf(r.w, "       FAILED: %s\n", s.Error)
	}
}

// finish prints the verdict (or, in JSON mode, the whole report).
func (r *reporter) finish(rep Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.Steps = r.rep.Steps
	if r.mode == modeJSON {
		enc := json.NewEncoder(r.w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if rep.OK {
		_, err := fmt.Fprintf(r.w, "\nDemo passed: all %d steps behaved as MP134B requires.\n", len(rep.Steps))
		return err
	}
	_, err := fmt.Fprintf(r.w, "\nDemo FAILED at %s\n", rep.Failed)
	return err
}

// table renders rows as aligned columns (for step lines).
func table(rows [][]string) []string {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))))
			}
		}
		out = append(out, b.String())
	}
	return out
}
