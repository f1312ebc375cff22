package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raserver"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/console"
	"github.com/smki/smki/internal/buildinfo"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ocsp"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/repo"
	"github.com/smki/smki/store"
	"github.com/smki/smki/testpki"
)

// DefaultListen is the listen address when Config.Listen is empty.
const DefaultListen = "127.0.0.1:8443"

// shutdownGrace bounds how long Serve waits for requests in flight once
// its context ends. Past it, their connections are closed and their
// handlers get handlerDrain more to return before Serve does (and the
// store is closed after it): 20 s in all, within the systemd unit's
// TimeoutStopSec.
const (
	shutdownGrace = 10 * time.Second
	handlerDrain  = 10 * time.Second
)

// Config is everything `smki serve` needs, already read from wherever it
// came from (flags, environment, config file): Open does no parsing of its
// own beyond the store spec and the listen address.
type Config struct {
	// DataDir holds the CA keys (softkms), the access CA, the RA signer,
	// the bootstrap officer credentials and, by default, the bbolt store.
	DataDir string
	// Listen is the HTTPS address (host:port; default DefaultListen).
	Listen string
	// Store is a store spec (ParseStore); "" is the bbolt file in DataDir.
	Store string
	// Passphrase decrypts the CA keys under DataDir/keys (softkms).
	// It may be empty with KMS, or with Dev (then DataDir/passphrase is
	// created on first start).
	Passphrase []byte
	// KMS is a KMS URI for the CA keys ("": softkms files).
	KMS string
	// Dev initialises everything on first start: the data directory, a
	// passphrase file, the CA and a test PKI scenario.
	Dev bool
	// RecoverBootstrap re-issues the bootstrap officers' credentials if
	// they are missing or superseded (break-glass).
	RecoverBootstrap bool
	// RequireOfficerCSR certifies only officer keys the appointee made.
	RequireOfficerCSR bool
	// OfflineRoot runs without the Root OCA key (see ca.Config).
	OfflineRoot bool
	// ReconcileAfter is the age at which an open issuance intent is
	// settled; nil is the engine's default (0 on bbolt, the only writer;
	// ca.DefaultReconcileAfter on PostgreSQL).
	ReconcileAfter *time.Duration
	// TLSNames are the DNS names and IP addresses clients reach the server
	// by; they go in the server certificate the access CA issues at each
	// start (with the listen host, localhost and the loopback addresses).
	TLSNames []string
	// TLSCertFile and TLSKeyFile name an operator-supplied certificate
	// chain and key (PEM) to serve instead; ReloadTLS reads them again.
	TLSCertFile, TLSKeyFile string
	// MetricsListen, if set, is a second address (host:port) serving only
	// GET /metrics over plain HTTP, for a Prometheus that holds no officer
	// credential: bind it to loopback or a management network. /metrics on
	// the main listener always requires an officer's client certificate.
	MetricsListen string
	// IdleTimeout, ReadTimeout and WriteTimeout bound a kept-alive
	// connection's wait for its next request, reading one request body and
	// writing one answer (0: DefaultIdleTimeout, DefaultReadTimeout,
	// DefaultWriteTimeout). The TLS handshake and request headers have 10
	// seconds; the long answers (feed long poll, store backup, revocation
	// progress) keep their own deadlines.
	IdleTimeout, ReadTimeout, WriteTimeout time.Duration
	// MaxConnsPerClient caps the connections one client IP address holds
	// open at once (0: DefaultMaxConnsPerClient); more are closed on accept.
	MaxConnsPerClient int
	// MinFreeBytes is the free space on a bbolt store's filesystem below
	// which GET /readyz fails (0: DefaultMinFreeBytes).
	MinFreeBytes uint64
	// Logger receives the server's structured log (default: discard).
	Logger *slog.Logger
	// Now is the clock of the RA access CA and of the TLS server
	// certificate's renewal (nil: time.Now); tests pass a fake one.
	Now func() time.Time
}

// Server is an assembled smki server: its listener is bound and every
// component is open, but it serves nothing until Serve.
type Server struct {
	cfg       Config
	log       *slog.Logger
	ln        net.Listener
	metricsLn net.Listener
	metrics   *http.Server
	spec      StoreSpec
	st        store.Store
	sched     *scheduler
	authority *ca.CA
	// access is the RA access CA, kept when the server serves an
	// operator's certificate (ReloadTLS tells it the certificate's CAs).
	access   *ownpki.AccessCA
	caExpiry *caExpiry
	svc      *ra.Service
	ocsp     *ocsp.Responder
	http     *http.Server
	certs    certSource
	busy     inflight
	reg      *prometheus.Registry // what GET /metrics serves
	closers  []func() error       // in the order to close them
	// beforeServe, if set, runs in each listener's serving goroutine
	// before it serves, with the listener's name (tests: a goroutine
	// scheduled late).
	beforeServe func(listener string)
}

// Open checks cfg, binds the listener (before anything is written, so a
// busy port leaves the data directory untouched), then opens the store,
// the CA (initialising it in Dev mode), the RA's keys and service, and
// issues the bootstrap officer credentials on first start. On error
// everything already opened is closed again.
func Open(ctx context.Context, cfg Config) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Listen == "" {
		s.cfg.Listen = DefaultListen
	}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// 1. Bind first: nothing below may run, and write to the data
	// directory, for a server that cannot serve.
	if s.ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return nil, fmt.Errorf("%w: listen on %s: %v; choose a free port or stop the process holding it", ErrListen, s.cfg.Listen, err)
	}
	s.closers = append(s.closers, s.ln.Close)
	if s.cfg.MetricsListen != "" {
		if s.metricsLn, err = net.Listen("tcp", s.cfg.MetricsListen); err != nil {
			var op *net.OpError
			if errors.As(err, &op) {
				err = op.Err
			}
			return nil, fmt.Errorf("%w: metrics listen on %s: %v; choose a free port or stop the process holding it", ErrListen, s.cfg.MetricsListen, err)
		}
		s.closers = append(s.closers, s.metricsLn.Close)
	}

	// 2. The data directory, and in Dev mode its passphrase.
	dir := s.cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: data directory %s cannot be made (%s): set data (--data) to a directory smki's user may create or write", ErrConfig, absPath(dir), durable.Reason(err))
	}
	warnDataDirMode(dir, s.log)
	pass := s.cfg.Passphrase
	if len(pass) == 0 && s.cfg.KMS == "" {
		if pass, err = devPassphrase(dir); err != nil {
			return nil, err
		}
	}

	// 3. The store, and whether this instance leads scheduled work.
	s.spec.Log = s.log // a failing background audit seal
	if s.st, err = s.spec.Open(ctx, 0); err != nil {
		return nil, storeOpenError(s.spec, err)
	}
	s.closers = append(s.closers, s.st.Close)
	s.sched = newScheduler(s.st, s.log)

	// 4. The CA (created on first start in Dev mode).
	reconcile := s.reconcileAfter()
	caCfg := ca.Config{Dir: dir, Passphrase: pass, KMS: s.cfg.KMS, Logger: s.log, ReconcileAfter: reconcile,
		OfflineRoot: s.cfg.OfflineRoot}
	s.authority, err = ca.Open(ctx, s.st, caCfg)
	if errors.Is(err, ca.ErrNotInitialised) && s.cfg.Dev {
		if err = ca.Init(ctx, s.st, caCfg, ca.InitOptions{}); err == nil {
			s.authority, err = ca.Open(ctx, s.st, caCfg)
		}
	}
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.authority.Close)
	s.caExpiry = newCAExpiry(s.authority, s.log)
	s.caExpiry.observe(s.cfg.Now())
	if s.authority.RootOffline() {
		if st, err := s.authority.ARLStatus(ctx); err == nil {
			s.log.Info("Root OCA key offline: the ARL comes from the key ceremony", "arl", string(st.State),
				"arl_number", st.Number, "arl_next_update", st.NextUpdate)
		}
	}
	if s.cfg.Dev {
		if err := devScenario(ctx, s.scenarioDir()); err != nil {
			return nil, err
		}
	}

	// 5. The access CA and the RA's own OU=89 signer (which signs the
	// policy bundle and the revocation feed; verifiers accept them only
	// from that role, chained to the root) keep their keys in the CA's key
	// backend.
	access, signer, noSigner, err := openRAKeys(ctx, dir, s.authority, s.cfg.Now, s.log)
	if err != nil {
		return nil, err
	}
	tlsConf, err := s.tlsConfig(access)
	if err != nil {
		return nil, err
	}

	// 6. The RA, and on first start the first two RA people (an operator
	// and an approver, for four-eyes decisions) under DataDir/officers;
	// later starts never re-issue them unless asked to (break-glass).
	raOpts := []ra.Option{ra.WithLogger(s.log), ra.WithSystemSigner(signer), ra.WithoutSystemSigner(noSigner), ra.WithLocker(s.sched)}
	if s.cfg.RequireOfficerCSR {
		raOpts = append(raOpts, ra.WithOfficerCSRRequired())
	}
	if s.svc, err = ra.New(s.st, s.authority, access, raOpts...); err != nil {
		return nil, err
	}
	if err := s.svc.CheckReservedIDs(ctx); err != nil {
		return nil, err
	}
	bootstrap := s.svc.Bootstrap
	if s.cfg.RecoverBootstrap {
		bootstrap = s.svc.RecoverBootstrap
	}
	if err := bootstrap(ctx, dir); err != nil {
		return nil, err
	}
	// The access CRL (issue 12 finding 8): signed before the first
	// handshake, which refuses the credentials it lists.
	if err := s.svc.RefreshAccess(ctx); err != nil {
		return nil, err
	}
	tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil
		}
		return s.svc.CheckAccess(context.Background(), cs.PeerCertificates[0])
	}

	// 7. The endpoints: public CA material and the one /healthz, then the
	// RA API for everything else.
	mux := http.NewServeMux()
	// The SMKI Repository (read-only, no client certificate): CA
	// certificates, every certificate by serial, search, the CRLs (also
	// at their older URLs, mountPublic).
	repoHandler, err := repo.New(repo.Config{Store: s.st, Root: s.authority.Root(), Issuing: s.authority.Issuing(), Logger: s.log})
	if err != nil {
		return nil, err
	}
	mountPublic(mux, s.st, s.authority, s.sched, s.svc.AccessCRL, repoHandler)
	mountTrust(mux, s.authority, s.svc, time.Now)
	reg := prometheus.NewRegistry()
	s.reg = reg
	if err := buildinfo.Register(reg); err != nil {
		return nil, err
	}
	// The Go runtime (goroutines, memory, GC) and the process (open file
	// descriptors, CPU, resident memory) beside smki's own series (issue
	// 12 finding 11).
	connRefused := prometheus.NewCounter(prometheus.CounterOpts{Name: "smki_server_connections_refused_total",
		Help: "Connections closed on accept because their client address already held the most allowed (max_conns_per_client)."})
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), connRefused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smki_server_tls_cert_expiry_timestamp_seconds",
			Help: "When the TLS server certificate now served expires (Unix seconds); the RA access CA's is renewed two thirds into its 90 days, an operator's (tls.cert) by a reload."},
			s.certs.expiry)} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// GET /readyz and smki_server_ready (issue 12 finding 12, ready.go):
	// told of every E_STORE_FULL answer by the RA API.
	minFree := s.cfg.MinFreeBytes
	if minFree == 0 {
		minFree = DefaultMinFreeBytes
	}
	if err := s.caExpiry.register(reg); err != nil {
		return nil, err
	}
	ready := newReadiness(s.st, s.authority, s.spec, minFree)
	ready.caExpiry = s.caExpiry
	if err := ready.mount(mux, reg); err != nil {
		return nil, err
	}
	api := raserver.NewServer(s.svc, raserver.WithServerLogger(s.log), raserver.WithRegistry(reg),
		raserver.WithStoreFullHook(ready.storeFull))
	mux.Handle("/", api)
	mux.Handle(repo.Prefix, repoHandler)
	// The RA console (docs/console.md): the same RA decisions in a browser.
	mux.Handle("/console/", console.New(console.Config{Service: s.svc, CRLs: s.authority.CRLStatus, Logger: s.log}))
	// OCSP (GET and POST /ocsp) for the Issuing OCA's certificates, from
	// responses pre-signed by a delegated responder certificate this
	// instance has issued for itself, and, on PostgreSQL, published in the
	// store for smki repo serve (which reads no bbolt file: there they
	// would only grow it); routed before the mux, whose path cleaning
	// would corrupt base64 GET requests.
	// Once the Issuing OCA has expired no responder certificate can be
	// issued: /ocsp answers "unauthorized" (relying parties fall back to
	// the ORL, which is still signed) and the rest still serves.
	ocspWrap := ocsp.Unavailable
	s.ocsp, err = ocsp.New(ctx, ocsp.Config{Store: s.st, Issuer: s.authority.Issuing(), Certifier: s.authority,
		Name: ocspName(), Publish: s.spec.Engine == "postgres", Logger: s.log})
	switch {
	case err == nil:
		ocspWrap = s.ocsp.Wrap
	case errors.Is(err, ca.ErrCAExpired):
		s.log.Error("OCSP not served: the Issuing OCA has expired, so no responder certificate can be issued; /ocsp answers unauthorized and the ORL still lists every revocation; bring a new Issuing OCA into service")
	default:
		return nil, err
	}
	// What must page someone although no request fails (signals.go).
	sig := signals{crl: s.authority.CRLStatus, responder: s.ocsp.ResponderCertificate, ocspSync: s.ocsp.SyncAge, jobs: s.svc.PendingJobs,
		now: time.Now, log: s.log}
	if m, ok := s.st.(store.AuditSealMonitor); ok {
		sig.backlog, sig.sealFailures = m.AuditBacklog, m.AuditSealFailures
	}
	if err := reg.Register(sig); err != nil {
		return nil, err
	}
	// Timeouts and the per-address cap (issue 12 finding 5, limits.go).
	// ReadTimeout stays 0 at the http.Server: bodyDeadline bounds bodies
	// without cancelling long answers once the body is read.
	// Every route counted and timed, not only the RA API's (which counts
	// its own): the outer mux's pattern, or /ocsp, routed before it.
	observed := raserver.Observed(api, ocspWrap(mux), func(r *http.Request) string {
		if r.URL.Path == "/ocsp" || strings.HasPrefix(r.URL.Path, "/ocsp/") {
			return "/ocsp"
		}
		return "unmatched"
	})
	s.http = &http.Server{Handler: s.busy.wrap(bodyDeadline(orDefault(s.cfg.ReadTimeout, DefaultReadTimeout), observed)),
		TLSConfig: tlsConf, ReadHeaderTimeout: headerTimeout,
		IdleTimeout:  orDefault(s.cfg.IdleTimeout, DefaultIdleTimeout),
		WriteTimeout: orDefault(s.cfg.WriteTimeout, DefaultWriteTimeout),
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	maxConns := s.cfg.MaxConnsPerClient
	if maxConns <= 0 {
		maxConns = DefaultMaxConnsPerClient
	}
	s.ln = newLimitListener(s.ln, maxConns, s.log, connRefused)
	if s.metricsLn != nil {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		s.metrics = &http.Server{Handler: mm, ReadHeaderTimeout: headerTimeout, ReadTimeout: headerTimeout,
			WriteTimeout: DefaultWriteTimeout, IdleTimeout: DefaultIdleTimeout,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		s.metricsLn = newLimitListener(s.metricsLn, maxConns, s.log, connRefused)
	}
	// Held revocation-feed requests answer at once on shutdown instead of
	// making Shutdown wait out their long polls.
	s.http.RegisterOnShutdown(s.svc.DrainFeed)
	return s, nil
}

// check refuses an unusable Config before anything is bound or written.
func (s *Server) check() error {
	if s.cfg.DataDir == "" {
		return fmt.Errorf("%w: no data directory", ErrConfig)
	}
	if _, _, err := net.SplitHostPort(s.cfg.Listen); err != nil {
		return fmt.Errorf("%w: listen address %q: want host:port, e.g. 127.0.0.1:8443", ErrConfig, s.cfg.Listen)
	}
	if len(s.cfg.Passphrase) == 0 && s.cfg.KMS == "" && !s.cfg.Dev {
		return fmt.Errorf("%w: a CA key passphrase is needed: give a passphrase file, a KMS URI, or dev mode", ErrConfig)
	}
	if s.cfg.ReconcileAfter != nil && *s.cfg.ReconcileAfter < 0 {
		return fmt.Errorf("%w: reconcile-after %v: want a duration >= 0, e.g. 2m", ErrConfig, *s.cfg.ReconcileAfter)
	}
	for _, n := range s.cfg.TLSNames {
		if !validTLSName(n) {
			return fmt.Errorf("%w: TLS name %q: want a DNS name (ra.example.org) or an IP address", ErrConfig, n)
		}
	}
	if s.cfg.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(s.cfg.MetricsListen); err != nil {
			return fmt.Errorf("%w: metrics listen address %q: want host:port, e.g. 127.0.0.1:9443", ErrConfig, s.cfg.MetricsListen)
		}
	}
	if s.cfg.IdleTimeout < 0 || s.cfg.ReadTimeout < 0 || s.cfg.WriteTimeout < 0 || s.cfg.MaxConnsPerClient < 0 {
		return fmt.Errorf("%w: timeouts and the connection cap want values >= 0 (0 is the default)", ErrConfig)
	}
	if (s.cfg.TLSCertFile == "") != (s.cfg.TLSKeyFile == "") {
		return fmt.Errorf("%w: an operator TLS certificate needs both its certificate and its key file", ErrConfig)
	}
	if s.cfg.TLSCertFile != "" && len(s.cfg.TLSNames) > 0 {
		return fmt.Errorf("%w: TLS names go in the certificate the access CA issues; with an operator certificate, its own names apply: drop one of them", ErrConfig)
	}
	var err error
	s.spec, err = ParseStore(s.cfg.Store, s.cfg.DataDir)
	return err
}

// reconcileAfter is Config.ReconcileAfter, or the engine's default: every
// open intent on bbolt (this process is the only writer), only those older
// than ca.DefaultReconcileAfter on PostgreSQL (younger ones may be another
// instance's issuance in flight).
func (s *Server) reconcileAfter() time.Duration {
	if s.cfg.ReconcileAfter != nil {
		return *s.cfg.ReconcileAfter
	}
	if s.spec.Engine == "postgres" {
		return ca.DefaultReconcileAfter
	}
	return 0
}

// Addr is the bound listen address (with the real port when Config.Listen
// asked for port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve runs the scheduled work and serves HTTPS until ctx ends, then
// shuts down gracefully (requests in flight get shutdownGrace) and waits
// for the scheduled work to stop. It returns nil after a clean shutdown.
// If a listener (HTTPS or metrics) stops for good first, Serve shuts the
// rest down the same way and returns an error wrapping ErrListen.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// The scheduled work is told to stop, then waited for, on every way
	// out (a listener that fails included: waiting first would wait for
	// ever).
	defer func() { cancel(); wg.Wait() }()
	// CRL refresh and late intent reconciliation, then scheduled SoLR
	// revocations and event ends (jobs live in the store, so they survive
	// a restart and run once), each only while this instance leads.
	wg.Add(4)
	go func() {
		defer wg.Done()
		if s.ocsp != nil { // nil: the Issuing OCA has expired (Open)
			s.ocsp.Run(ctx)
		}
	}()
	go func() { defer wg.Done(); s.svc.RunAccessRefresh(ctx, 0) }()
	go func() { defer wg.Done(); runCAMaintenance(ctx, s.authority, s.sched, s.caExpiry, time.Minute, s.log) }()
	go func() { defer wg.Done(); s.svc.RunScheduler(ctx, time.Second) }()

	type served struct {
		name string
		err  error
	}
	errc := make(chan served, 2)
	serve := func(name string, f func() error) {
		go func() {
			if s.beforeServe != nil {
				s.beforeServe(name)
			}
			errc <- served{name, f()}
		}()
	}
	running := 1
	serve("HTTPS", func() error { return s.http.ServeTLS(s.ln, "", "") })
	if s.metrics != nil {
		s.log.Info("metrics listener", "addr", s.metricsLn.Addr().String())
		running++
		serve("metrics", func() error { return s.metrics.Serve(s.metricsLn) })
	}
	// A listener that stops for good stops the whole server: serving on
	// the other one alone would look alive to a supervisor while half of
	// the service is gone.
	var failed error
	select {
	case f := <-errc:
		running--
		s.log.Error("listener stopped; shutting down", "listener", f.name, "err", f.err)
		failed = fmt.Errorf("%w: the %s listener stopped (%v); the server shut down: check the host's network and file descriptor limits, then start it again", ErrListen, f.name, f.err)
	case <-ctx.Done():
	}
	cancel()
	err := s.shutdown()
	// Serve returns with nothing listening: each serving goroutine has
	// returned (one that had not started serving when the shutdown came
	// returns at once, http.ErrServerClosed), and each listener is closed
	// here too, since a Serve that returns before it serves (ServeTLS
	// failing its set-up) does not close it.
	for ; running > 0; running-- {
		<-errc
	}
	s.closeListeners()
	// The coalesced refusal counts reach the audit log before the store
	// closes.
	s.svc.FlushRefusals()
	if failed != nil {
		return failed
	}
	return err
}

// closeListeners closes both listeners; one already closed (by its
// Serve) is no failure.
func (s *Server) closeListeners() {
	s.ln.Close()
	if s.metricsLn != nil {
		s.metricsLn.Close()
	}
}

// shutdown stops both listeners and waits for the requests in flight:
// shutdownGrace for them to finish; past it, their connections are
// closed (which ends their request contexts and body reads) and their
// handlers get handlerDrain more to return. It returns an error wrapping
// ErrShutdown only if a handler is still running then, i.e. may still be
// using the store that Close closes next.
func (s *Server) shutdown() error {
	grace, stop := context.WithTimeout(context.Background(), shutdownGrace)
	defer stop()
	s.log.Info("shutting down")
	var wg sync.WaitGroup
	if s.metrics != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.metrics.Shutdown(grace) }()
	}
	err := s.http.Shutdown(grace)
	wg.Wait()
	if err == nil {
		return nil
	}
	n := s.busy.count()
	s.log.Warn("shutdown grace passed: closing the connections of requests still running", "requests", n,
		"grace", shutdownGrace.String())
	s.http.Close()
	if s.metrics != nil {
		s.metrics.Close()
	}
	if n = s.busy.waitIdle(handlerDrain); n > 0 {
		s.log.Error("requests still running after the shutdown grace and drain; closing the store under them", "requests", n)
		return fmt.Errorf("%w: %d requests still running %v after shutdown began; an issuance they left open is settled at the next start (reconcile_after)", ErrShutdown, n, shutdownGrace+handlerDrain)
	}
	return nil
}

// inflight counts the HTTP handlers running, so that shutdown can wait for
// the last one before the store closes.
type inflight struct{ n atomic.Int64 }

func (f *inflight) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		defer f.n.Add(-1)
		next.ServeHTTP(w, r)
	})
}

func (f *inflight) count() int64 { return f.n.Load() }

// waitIdle waits up to d for no handler to be running and returns how
// many still are.
func (f *inflight) waitIdle(d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for {
		n := f.n.Load()
		if n == 0 || !time.Now().Before(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MetricsAddr is the bound metrics listen address, or "" without one.
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Close releases everything Open opened, scheduler leadership first (so
// another instance takes over at once), in reverse order. Call it after
// Serve has returned.
func (s *Server) Close() error {
	if s.sched != nil {
		s.sched.release()
	}
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Run is Open, Serve and Close: it serves cfg until ctx ends. ready, if
// not nil, is called once the server is open and about to serve (to print
// where it listens, or to write a ready file); an error from it stops the
// server.
func Run(ctx context.Context, cfg Config, ready func(*Server) error) error {
	s, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if ready != nil {
		if err := ready(s); err != nil {
			return err
		}
	}
	return s.Serve(ctx)
}

// summaryField is one line of the start banner: its label in the text
// banner and its key in the log record.
type summaryField struct{ label, key, value string }

// summary is what the start banner says: where the server listens and
// where an operator finds its files.
func (s *Server) summary() []summaryField {
	addr, dir := s.Addr(), s.cfg.DataDir
	f := []summaryField{
		{"data", "data", absPath(dir)},
		{"store", "store", s.spec.String()},
		{"roots", "roots", "https://" + addr + "/roots"},
		{"CRLs", "crls", "https://" + addr + "/crl/orl.crl, /crl/arl.crl, /crl/access.crl"},
		{"OCSP", "ocsp", "https://" + addr + "/ocsp"},
		{"repository", "repository", "https://" + addr + "/repo/index.json"},
	}
	if m := s.MetricsAddr(); m != "" {
		f = append(f, summaryField{"metrics", "metrics", "http://" + m + "/metrics"})
	}
	if s.authority.RootOffline() {
		f = append(f, summaryField{"root key", "root_key", "offline (ARL from the key ceremony: smki ca import-arl)"})
	}
	f = append(f,
		summaryField{"TLS root", "tls_root", absPath(filepath.Join(dir, "access", "access-root.pem"))},
		summaryField{"RA operator", "ra_operator", "--officer " + absPath(filepath.Join(dir, "officers", "admin"))},
		summaryField{"RA approver", "ra_approver", "--officer " + absPath(filepath.Join(dir, "officers", "approver"))},
		summaryField{"API", "api", "https://" + addr + "/openapi.yaml"},
		summaryField{"console", "console", "https://" + addr + "/console/ (smki console open --officer DIR)"})
	if s.cfg.Dev {
		f = append(f, summaryField{"test PKI", "test_pki", absPath(s.scenarioDir())})
	}
	return f
}

// WriteSummary writes the start banner for a person: "smki serving on
// https://ADDR", then one "name: value" line per summary field.
func (s *Server) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "smki serving on https://%s\n", s.Addr())
	for _, f := range s.summary() {
		fmt.Fprintf(w, "  %-12s %s\n", f.label+":", f.value)
	}
}

// LogSummary logs the start banner as one INFO record, "smki serving",
// with the key url (https://ADDR) and one key per summary field (data,
// store, roots, crls, ocsp, repository, metrics, root_key, tls_root,
// ra_operator, ra_approver, api, console, test_pki; those that apply):
// the banner of a server whose log is JSON, so that its journal holds
// nothing else.
func (s *Server) LogSummary(log *slog.Logger) {
	args := []any{"url", "https://" + s.Addr()}
	for _, f := range s.summary() {
		args = append(args, f.key, f.value)
	}
	log.Info("smki serving", args...)
}

// scenarioDir is where Dev mode builds its test PKI scenario.
func (s *Server) scenarioDir() string { return filepath.Join(s.cfg.DataDir, "testpki") }

// devScenario builds Dev mode's test PKI scenario in dir unless it is
// there, whole or not at all: in a temporary directory beside it, every
// file and directory synced, then renamed into place, so a start that
// fails or crashes half way never leaves a dir that later starts would
// take as built. A temporary directory a crash left is removed first.
func devScenario(ctx context.Context, dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	parent, prefix := filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-"
	if stale, _ := filepath.Glob(filepath.Join(parent, prefix+"*")); len(stale) > 0 {
		for _, p := range stale {
			os.RemoveAll(p)
		}
	}
	tmp, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return fmt.Errorf("building the dev test PKI in %s: %s", parent, durable.Reason(err))
	}
	defer os.RemoveAll(tmp) // gone once renamed
	if _, err := testpki.Build(ctx, testpki.Options{Out: tmp}); err != nil {
		return fmt.Errorf("building the dev test PKI: %w", err)
	}
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return durable.SyncDir(p)
		}
		return durable.SyncFile(p)
	})
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err == nil {
		err = durable.SyncDir(parent)
	}
	if err != nil {
		return fmt.Errorf("building the dev test PKI in %s: %s", dir, durable.Reason(err))
	}
	return nil
}

// openRAKeys opens (creating or migrating as needed) the RA access CA
// under DATA/access and the RA system signer under DATA/ra, both with their
// keys in authority's key backend. Each softkms key costs a PBKDF2 to
// decrypt, so the two open at once; on a PKCS#11 token the KeyStore
// generates and finds their keys one at a time (ca.KeyStore).
//
// With no system signer yet and the Issuing OCA expired (a CA whose first
// start comes after that, as a backup restored onto a new host), none can
// be certified: the server still starts, without one, logged as an error,
// and noSigner says why (ra.WithoutSystemSigner); revocation and the CRLs
// need none.
func openRAKeys(ctx context.Context, dir string, authority *ca.CA, now func() time.Time, log *slog.Logger) (access *ownpki.AccessCA, signer *ownpki.SystemSigner, noSigner, err error) {
	var (
		accessErr error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		access, accessErr = ownpki.OpenAccessCA(filepath.Join(dir, "access"), authority.KeyStore(), now, log)
	}()
	signer, err = ownpki.OpenSystemSigner(ctx, filepath.Join(dir, "ra"), authority.KeyStore(), authority, ownpki.DefaultSystemID, time.Now(), log)
	<-done
	if errors.Is(err, ca.ErrCAExpired) {
		log.Error("RA running without a system signer: the Issuing OCA expired before one was made, so none can be certified; the bundle and the revocation feed are refused (E_CA_EXPIRED) while revocations, the ORL and the ARL go on; bring a new Issuing OCA into service")
		noSigner = fmt.Errorf("%w: the Issuing OCA expired before an RA system signer was made", ca.ErrCAExpired)
		err = nil
	}
	return access, signer, noSigner, errors.Join(accessErr, err)
}

// devPassphrase returns the dev-mode passphrase kept in DATA/passphrase,
// creating it on first start. It is created only where none exists, never
// over a file it could not read (the CA keys are encrypted with it), and
// synced before the keys it protects are written.
func devPassphrase(dir string) ([]byte, error) {
	p := filepath.Join(dir, "passphrase")
	b, err := opfile.Read(p, opfile.MaxKey)
	switch {
	case errors.Is(err, opfile.ErrTooLarge):
		return nil, fmt.Errorf("%w: dev passphrase: %w", ErrConfig, err)
	case err == nil && len(b) == 0:
		return nil, fmt.Errorf("%w: dev passphrase %s is empty; if the CA keys in %s were made with it they cannot be opened: start with a fresh data directory", ErrConfig, absPath(p), absPath(dir))
	case err == nil:
		return b, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: dev passphrase %s cannot be read (%s): fix it or start with a fresh data directory", ErrConfig, absPath(p), durable.Reason(err))
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("%w: dev passphrase: the system's random source failed: %v", ErrConfig, err)
	}
	pass := []byte(hex.EncodeToString(raw[:]))
	if err := durable.WriteNew(p, pass, 0o600); err != nil {
		return nil, fmt.Errorf("%w: dev passphrase %s cannot be written (%s): set data (--data) to a directory smki's user may write", ErrConfig, absPath(p), durable.Reason(err))
	}
	return pass, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// ocspName names this instance in its OCSP responder certificate: the
// host name, so that several instances' certificates can be told apart.
func ocspName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > 48 {
		return "smki"
	}
	return h
}
