package verifycmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/verifier"
)

// sidecarFetchTimeout bounds one fetch of the RA's bundle by a sidecar
// that has none yet.
const sidecarFetchTimeout = 30 * time.Second

// sidecarRetry is how often a not-ready sidecar whose trust directory has
// no bundle asks the RA again; a changed trust directory (polled every
// second) or SIGHUP retries at once.
const sidecarRetry = 5 * time.Second

// sidecar is a running `smki verifier serve`: it serves the verifier's
// handler once it has one, and until then verifier.UnreadyHandler (alive,
// not ready, refusing every request), re-reading its trust directory on
// change and on SIGHUP until a verifier can be built.
type sidecar struct {
	c   *ucli.Context
	log *slog.Logger
	// ledger is every verifier's memory (replay counters, ADT windows):
	// one for the process, so a reload or a return to ready forgets no
	// accepted counter and no count (on --state-file when given).
	ledger *verifier.Ledger
	// follow is the RA follower's template (nil without --ra): each
	// verifier built runs its own copy (start), stopped by stopRun.
	follow  *verifier.Follower
	stopRun context.CancelFunc
	runDone chan struct{}
	h       atomic.Pointer[http.Handler]
}

// configErr is a setting of smki verifier serve that cannot work: exit 2,
// coded E_VERIFIER_CONFIG (as the verifier's own refusals of its trust
// directory and bundle), naming the flag and what to do.
func configErr(format string, a ...any) error {
	return verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: "+format, append([]any{verifier.ErrConfig}, a...)...))
}

// errNotReady: the sidecar cannot build its verifier yet (the bundle does
// not verify against the trust root, or there is none and the RA's cannot
// be had); it serves not ready meanwhile.
type errNotReady struct{ reasons []string }

func (e *errNotReady) Error() string { return strings.Join(e.reasons, "; ") }

func (sc *sidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*sc.h.Load()).ServeHTTP(w, r) }

func serveVerifier(c *ucli.Context) error {
	log := slog.New(slog.NewJSONHandler(c.App.ErrWriter, nil))
	sc := &sidecar{c: c, log: log}
	if d := c.Duration("max-age"); d < 0 {
		return configErr("--max-age %s: want a positive duration, or 0 for the bundle's own max_age", d)
	}
	if d := c.Duration("bundle-interval"); d <= 0 {
		return configErr("--bundle-interval %s: want a positive duration (default 1m)", d)
	}
	if d := c.Duration("fsync-delay"); d < 0 {
		return configErr("--fsync-delay %s: want 0 (no wait) or a positive duration", d)
	}
	var replay verifier.ReplayStore // nil: in memory
	if f := c.String("state-file"); f != "" {
		st, err := verifier.OpenStateFile(f, verifier.StateFileOptions{MaxDelay: c.Duration("fsync-delay"), Recover: c.Bool("state-recover")})
		if err != nil {
			return verb.UsageErr("--state-file: %v", err)
		}
		if r := st.Recovered(); r != "" {
			log.Warn("state file recovered (--state-recover): requests whose only record was lost could be accepted once more",
				"file", f, "recovered", r)
		}
		defer func() {
			if err := st.Close(); err != nil {
				log.Error("state file", "err", err)
			}
		}()
		replay = st
	}
	sc.ledger = verifier.NewLedger(replay)
	if ra := c.String("ra"); ra != "" {
		f, err := raFollower(ra, c.String("officer"), nil, nil, c.Duration("bundle-interval"), log)
		if err != nil {
			return err
		}
		sc.follow = f
	} else if c.String("officer") != "" {
		return configErr("--officer is only for --ra: give --ra URL too, or leave --officer out")
	}
	ctx, stop := signalContext(c)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	v, err := sc.build(ctx)
	var nr *errNotReady
	switch {
	case err == nil:
		if err := sc.start(ctx, v); err != nil {
			return err
		}
		go sc.watch(ctx, hup, nil)
	case errors.As(err, &nr):
		sc.unready(nr.reasons)
		go sc.watch(ctx, hup, nr.reasons)
	default:
		return err
	}
	return serveSidecar(ctx, c, log, sc)
}

// build loads the trust directory and the bundle (--bundle, else the
// directory's bundle.json, else the RA's with --ra) and builds the
// Verifier. A bundle that does not open, or an RA that cannot be asked
// for one, is an *errNotReady; anything else is a usage error.
func (sc *sidecar) build(ctx context.Context) (*verifier.Verifier, error) {
	c := sc.c
	dir := c.String("trust")
	t, err := verifier.LoadTrust(dir)
	if err != nil {
		return nil, verb.UsageErr("--trust: %v", err)
	}
	var o verifier.Options
	what := filepath.Join(dir, verifier.TrustBundleFile)
	if p := c.String("bundle"); p != "" {
		if t.Bundle, err = verb.ReadLimited(p, bundle.MaxBundleSize); err != nil {
			return nil, configErr("--bundle: %v", errors.Unwrap(err))
		}
		what = p
	}
	switch {
	case t.Bundle != nil:
		if o, err = t.Options(time.Now()); err != nil {
			return nil, &errNotReady{[]string{"--bundle " + what + ": " + err.Error()}}
		}
	case sc.follow != nil:
		if err := t.Check(); err != nil {
			return nil, verb.UsageErr("--trust: %v", err)
		}
		sc.follow.Roots = t.RootPool()
		fctx, cancel := context.WithTimeout(ctx, sidecarFetchTimeout)
		b, err := sc.follow.FetchBundle(fctx, time.Now())
		cancel()
		if err != nil {
			return nil, &errNotReady{[]string{fmt.Sprintf("no bundle: --trust %s has no %s and the RA's (GET /v1/bundle) cannot be had: %v", dir, verifier.TrustBundleFile, err)}}
		}
		o = verifier.Options{Roots: t.Roots, Intermediates: t.Intermediates, CRLs: t.CRLs, Bundle: b}
	default:
		return nil, configErr("--trust %s has no %s: give --bundle FILE, or --ra URL and --officer DIR to fetch it from the RA", dir, verifier.TrustBundleFile)
	}
	o.Clock, o.Ledger, o.Logger, o.MaxAge = time.Now, sc.ledger, sc.log, c.Duration("max-age")
	if sc.follow != nil {
		// The follower fetches compact bundles (no end-entity
		// certificates): signers are looked up in the RA's repository.
		o.Source = sc.follow
	}
	v, err := verifier.New(o)
	if err != nil {
		return nil, verb.UsageErr("verifier: %v", err)
	}
	if sc.follow != nil {
		sc.follow.Roots = t.RootPool()
	}
	return v, nil
}

// start serves v: its metrics, and the RA follower with --ra (the
// previous verifier's follower stops). It logs one ERROR line for each
// reason v is not ready yet (its data older than --max-age, say).
func (sc *sidecar) start(ctx context.Context, v *verifier.Verifier) error {
	metrics, err := verifier.NewMetrics(prometheus.NewRegistry(), v)
	if err != nil {
		return verb.WithCode(verb.ExitError, err)
	}
	sc.stopFollower()
	if sc.follow != nil {
		f := *sc.follow
		f.Verifier, f.OnError = v, metrics.FollowerError
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		sc.stopRun, sc.runDone = cancel, done
		go func() { defer close(done); _ = f.Run(rctx) }()
	}
	h := verifier.InstrumentedHandler(metrics, 0)
	sc.h.Store(&h)
	for _, r := range v.NotReady() {
		sc.log.Error("not ready: "+r, "reason", r)
	}
	return nil
}

// stopFollower stops the running verifier's follower, if any.
func (sc *sidecar) stopFollower() {
	if sc.stopRun != nil {
		sc.stopRun()
		<-sc.runDone
		sc.stopRun, sc.runDone = nil, nil
	}
}

// reload builds a verifier from the trust directory again (SIGHUP while
// serving) and puts it in force once it has caught up with the RA's
// revocation feed. It returns why the sidecar is not ready now: nil if it
// serves the new verifier, or still the old one (the feed could not be
// caught up: logged, and the next SIGHUP tries again); the reasons if the
// trust directory no longer verifies, and it then serves not ready.
func (sc *sidecar) reload(ctx context.Context) []string {
	v, err := sc.build(ctx)
	if err == nil && sc.follow != nil {
		f := *sc.follow
		f.Verifier = v
		cctx, cancel := context.WithTimeout(ctx, sidecarFetchTimeout)
		cerr := f.CatchUp(cctx)
		cancel()
		if cerr != nil {
			sc.log.Error("SIGHUP: the trust directory verifies but the RA's revocation feed could not be caught up; the running verifier keeps serving (send SIGHUP again)", "err", cerr.Error())
			return nil
		}
	}
	if err == nil {
		err = sc.start(ctx, v)
	}
	if err == nil {
		sc.log.Info("SIGHUP: trust directory reloaded; serving", "trust", sc.c.String("trust"))
		return nil
	}
	reasons := []string{err.Error()}
	var nr *errNotReady
	if errors.As(err, &nr) {
		reasons = nr.reasons
	}
	sc.stopFollower()
	sc.unready(reasons)
	return reasons
}

// unready serves not ready for reasons, logging one ERROR line each.
func (sc *sidecar) unready(reasons []string) {
	for _, r := range reasons {
		sc.log.Error("not ready: refusing every request until the trust directory and bundle verify (re-read on change and on SIGHUP; smki trust export)", "reason", r)
	}
	h := verifier.UnreadyHandler(prometheus.NewRegistry(), reasons)
	sc.h.Store(&h)
}

// watch re-reads the trust directory while the sidecar is not ready
// (reasons: why not; nil when it is ready): when
// a file in it (or --bundle) changes, on SIGHUP, and every sidecarRetry
// while the bundle is to come from the RA. Once ready, SIGHUP reloads it
// (reload): a directory that no longer verifies makes the sidecar not
// ready, and it is watched again.
func (sc *sidecar) watch(ctx context.Context, hup <-chan os.Signal, reasons []string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastTry, ready := sc.fingerprint(), time.Now(), reasons == nil
	for {
		retry := false
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if ready {
				if reasons = sc.reload(ctx); reasons != nil {
					ready, last, lastTry = false, sc.fingerprint(), time.Now()
				}
				continue
			}
			retry = true
		case <-tick.C:
			if ready {
				continue
			}
			fp := sc.fingerprint()
			retry = fp != last || (sc.follow != nil && time.Since(lastTry) >= sidecarRetry)
			last = fp
		}
		if !retry {
			continue
		}
		lastTry = time.Now()
		v, err := sc.build(ctx)
		if err == nil {
			err = sc.start(ctx, v)
		}
		if err == nil {
			ready = true
			sc.log.Info("ready: the trust directory and bundle verify; serving", "trust", sc.c.String("trust"))
			continue
		}
		now := []string{err.Error()}
		var nr *errNotReady
		if errors.As(err, &nr) {
			now = nr.reasons
		}
		if !slices.Equal(now, reasons) {
			reasons = now
			sc.unready(reasons)
		}
	}
}

// fingerprint names, sizes and modification times of the trust directory
// and --bundle: what a change is.
func (sc *sidecar) fingerprint() string {
	var b strings.Builder
	dir := sc.c.String("trust")
	ents, _ := os.ReadDir(dir)
	paths := []string{sc.c.String("bundle")}
	for _, e := range ents {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}
