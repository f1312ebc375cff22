package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ErrFailed: a step of the demo did not behave as it should. Run's error
// wraps it with the step and the reason.
var ErrFailed = errors.New("E_DEMO_FAILED")

// ErrUsage: the options cannot work (no binary, a data directory that
// already holds a store).
var ErrUsage = errors.New("E_DEMO_USAGE")

// Options configure Run.
type Options struct {
	// Exe is the smki binary to start the server and the CLI steps from:
	// the running binary itself (os.Executable) for `smki demo`.
	Exe string
	// Data is the server's data directory; "" uses a fresh temporary
	// directory that is removed at the end. A given directory must not
	// hold a store yet (the demo creates its parties and users) and is kept.
	Data string
	// Out receives the report; TTY enables the live display, JSON the
	// machine-readable report instead.
	Out  io.Writer
	TTY  bool
	JSON bool
	// Clock is the demo's clock (default time.Now). The server runs on the
	// wall clock, so this is for the demo's own time stamps and waits.
	Clock func() time.Time
	// ReadyTimeout bounds the server's start (default 2 minutes: the
	// first start builds a CA and a test PKI).
	ReadyTimeout time.Duration
}

// step is one entry of the script.
type step struct {
	title string
	run   func(ctx context.Context, s *Step) error
}

// Run plays the whole night and returns nil only if every step behaved.
// The server it starts is stopped before Run returns, whatever happened,
// including when ctx is cancelled (Ctrl-C). Its error wraps ErrFailed
// (a step misbehaved), ErrUsage or ErrServer.
func Run(ctx context.Context, o Options) (err error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Exe == "" {
		return fmt.Errorf("%w: no smki binary to run", ErrUsage)
	}
	mode := modePlain
	switch {
	case o.JSON:
		mode = modeJSON
	case o.TTY:
		mode = modeTTY
	}
	rep := newReporter(o.Out, mode, o.Clock)

	work, data, cleanup, err := workspace(o.Data)
	if err != nil {
		return err
	}
	defer cleanup()
	d := &night{o: o, clock: o.Clock, data: data, work: work, rep: rep}
	if err := os.MkdirAll(d.work, 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	defer d.shutdown()

	rep.header("smki demo: the night a Supplier fails (MP134B, SoLR Contingency)")
	rep.header("  data: %s", data)
	result := play(ctx, rep, o.Clock, d.script(), d.serverTail)
	result.Data = data
	// Stopping the server is part of the account: a server that will not
	// stop is a failure too.
	if d.srv != nil {
		s := Step{N: len(rep.rep.Steps) + 1, Title: "Stop smki serve"}
		rep.begin(s.N, s.Title)
		start := o.Clock()
		err := d.shutdown()
		s.Seconds = o.Clock().Sub(start).Round(10 * time.Millisecond).Seconds()
		s.OK, s.Detail = err == nil, "SIGTERM, drained and exited"
		if err != nil {
			s.Error = err.Error()
			if result.OK {
				result.OK, result.Failed = false, fmt.Sprintf("step %d (%s): %v", s.N, s.Title, err)
			}
		}
		rep.end(s)
	}
	result.Server, result.Stream = d.url, d.stream
	if err := rep.finish(result); err != nil {
		return fmt.Errorf("%w: writing the report: %v", ErrUsage, err)
	}
	if !result.OK {
		return fmt.Errorf("%w: %s", ErrFailed, result.Failed)
	}
	return nil
}

// workspace returns the demo's work directory (credentials, keys, the
// device file, the server's log) and the server's data directory: both
// in a fresh temporary directory that cleanup removes, or dir and
// dir/demo-work, kept. dir must not hold a store or an earlier run.
func workspace(dir string) (work, data string, cleanup func(), err error) {
	if dir == "" {
		root, err := os.MkdirTemp("", "smki-demo-")
		if err != nil {
			return "", "", nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		return filepath.Join(root, "work"), filepath.Join(root, "data"), func() { os.RemoveAll(root) }, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: --data %s: %v", ErrUsage, dir, err)
	}
	if _, err := os.Stat(filepath.Join(abs, "smki.db")); err == nil {
		return "", "", nil, fmt.Errorf("%w: --data %s already holds a store; the demo needs a fresh directory", ErrUsage, dir)
	}
	work = filepath.Join(abs, "demo-work")
	if _, err := os.Stat(work); err == nil {
		return "", "", nil, fmt.Errorf("%w: --data %s already holds a demo run (%s)", ErrUsage, dir, work)
	}
	return work, abs, func() {}, nil
}

// play runs steps in order until one fails (each depends on the ones
// before it) and returns the report so far. tail, if it returns lines, is
// added to a failed step's account (the server's last log lines).
func play(ctx context.Context, rep *reporter, clock func() time.Time, steps []step, tail func() []string) Report {
	result := Report{OK: true}
	for i, st := range steps {
		s := Step{N: i + 1, Title: st.title}
		rep.begin(s.N, s.Title)
		start := clock()
		err := st.run(ctx, &s)
		if ctx.Err() != nil {
			// Whatever the step was doing, the reason it stopped is this.
			err = fmt.Errorf("interrupted (%v); stopping the server", ctx.Err())
		}
		s.Seconds = clock().Sub(start).Round(10 * time.Millisecond).Seconds()
		s.OK = err == nil
		if err != nil {
			s.Error = err.Error()
			if ctx.Err() == nil {
				if lines := tail(); len(lines) > 0 {
					s.Lines = append(s.Lines, "server log (last lines):")
					for _, l := range lines {
						s.Lines = append(s.Lines, "  "+l)
					}
				}
			}
		}
		rep.end(s)
		if err != nil {
			result.OK = false
			result.Failed = fmt.Sprintf("step %d (%s): %v", s.N, s.Title, err)
			break
		}
	}
	return result
}

// serverTail is the server's last log lines, none before it started.
func (d *night) serverTail() []string {
	if d.srv == nil {
		return nil
	}
	return splitLines(d.srv.tail(8))
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
