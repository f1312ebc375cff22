package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/store"
	"github.com/smki/smki/testpki"
)

func serveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "run the RA/CA server over HTTPS",
		Description: `Serves the RA API (mTLS), the CA's roots and CRLs, health and metrics.
With --dev it creates the data directory, a passphrase file, the CA and a test PKI
scenario on first start, so that one command brings up a working server.

The store is the bbolt file DATA/smki.db unless --store names another file
(bbolt:PATH) or a PostgreSQL database (postgres://...), which several
instances may share: each needs the same data directory contents (CA keys or
the same HSM, access CA, RA signer). Scheduled work runs on one of them, the
holder of a PostgreSQL advisory lock; /healthz says "leader" or "standby".

With --offline-root the Root OCA key is not opened (it may be absent from
DATA/keys or the token): the ARL comes from the key ceremony ('smki ca arl',
then 'smki ca import-arl' here), the CA refuses whatever needs the root key
(E_CA_ROOT_OFFLINE), and the server warns in its log, and in /healthz "arl"
("ok", "stale" past half its lifetime, "expired"), when a ceremony is due.

Example:
   smki serve --dev                       # ./data, https://127.0.0.1:8443
   smki serve --data /var/lib/smki --listen 0.0.0.0:8443 --passphrase-file /etc/smki/pass
   smki serve --data /var/lib/smki --store 'postgres://smki@db.internal/smki?sslmode=verify-full'`,
		Flags: append([]ucli.Flag{
			&ucli.BoolFlag{Name: "dev", Usage: "development mode: initialise everything on first start"},
			&ucli.BoolFlag{Name: "recover-bootstrap",
				Usage: "break-glass: re-issue the bootstrap admin and approver credentials into DATA/officers if missing or superseded (their old credentials stop working)"},
			&ucli.BoolFlag{Name: "require-officer-csr", EnvVars: []string{"SMKI_REQUIRE_OFFICER_CSR"},
				Usage: "certify only officer keys the appointee generated (smki officer keygen; officer add --csr)"},
			&ucli.StringFlag{Name: "data", Usage: "data directory", Value: "./data", EnvVars: []string{"SMKI_DATA"}},
			&ucli.StringFlag{Name: "listen", Usage: "address to serve HTTPS on", Value: "127.0.0.1:8443", EnvVars: []string{"SMKI_LISTEN"}},
			&ucli.StringFlag{Name: "ready-file", Usage: "write the listening address to this file once serving (for scripts and tests)", EnvVars: []string{"SMKI_READY_FILE"}},
			storeFlag(),
			&ucli.BoolFlag{Name: "offline-root", EnvVars: []string{"SMKI_OFFLINE_ROOT"},
				Usage: "run without the Root OCA key: the ARL is issued at the key ceremony (smki ca arl) and installed with smki ca import-arl"},
			&ucli.StringFlag{Name: "reconcile-after", EnvVars: []string{"SMKI_RECONCILE_AFTER"},
				Usage: "age at which an open issuance intent is settled (default: 0 on bbolt, the only writer; 2m on PostgreSQL, where it may be another instance's)"},
		}, passphraseFlags()...),
		Action: serve,
	}
}

func serve(c *ucli.Context) error {
	dir := c.String("data")
	dev := c.Bool("dev")
	log := slog.New(slog.NewJSONHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return withCode(ExitUsage, err)
	}
	pass, err := passphrase(c)
	if err != nil {
		return err
	}
	if len(pass) == 0 && c.String("kms") == "" {
		if !dev {
			return usageErr("a CA key passphrase is needed: --passphrase-file or SMKI_PASSPHRASE (or --dev)")
		}
		if pass, err = devPassphrase(dir); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, spec, err := openStoreFlag(c, dir, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	reconcileAfter, err := reconcileAfter(c, spec)
	if err != nil {
		return err
	}
	sched := newScheduler(st, log)
	defer sched.release()

	cfg := ca.Config{Dir: dir, Passphrase: pass, KMS: c.String("kms"), Logger: log, ReconcileAfter: reconcileAfter,
		OfflineRoot: c.Bool("offline-root")}
	authority, err := ca.Open(ctx, st, cfg)
	if errors.Is(err, ca.ErrNotInitialised) && dev {
		if err = ca.Init(ctx, st, cfg, ca.InitOptions{}); err == nil {
			authority, err = ca.Open(ctx, st, cfg)
		}
	}
	if err != nil {
		return err
	}
	defer authority.Close()
	if authority.RootOffline() {
		if st, err := authority.ARLStatus(ctx); err == nil {
			log.Info("Root OCA key offline: the ARL comes from the key ceremony", "arl", string(st.State),
				"arl_number", st.Number, "arl_next_update", st.NextUpdate)
		}
	}

	scenario := filepath.Join(dir, "testpki")
	if dev {
		if _, err := os.Stat(scenario); errors.Is(err, os.ErrNotExist) {
			if _, err := testpki.Build(ctx, testpki.Options{Out: scenario}); err != nil {
				return fmt.Errorf("building the dev test PKI: %w", err)
			}
		}
	}

	// The access CA and the RA's own OU=89 signer (which signs the policy
	// bundle and the revocation feed; verifiers accept them only from that
	// role, chained to the root) keep their keys in the CA's key backend.
	// Each softkms key costs a PBKDF2 to decrypt, so the two open at once.
	access, signer, err := openRAKeys(ctx, dir, authority, log)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.String("listen"))
	if err != nil {
		return usageErr("--listen: %v", err)
	}
	tlsConf, err := access.TLSConfig(host, "localhost", "127.0.0.1")
	if err != nil {
		return err
	}

	// Roots, CRLs and health are public; the RA API requires a verified
	// officer certificate and checks for one on every request.
	tlsConf.ClientAuth = tls.VerifyClientCertIfGiven

	raOpts := []ra.Option{ra.WithLogger(log), ra.WithSystemSigner(signer), ra.WithLocker(sched)}
	if c.Bool("require-officer-csr") {
		raOpts = append(raOpts, ra.WithOfficerCSRRequired())
	}
	svc, err := ra.New(st, authority, access, raOpts...)
	if err != nil {
		return err
	}
	// The first two RA people (an operator and an approver, for four-eyes
	// decisions) get credentials under DATA/officers on first start; later
	// starts never re-issue them unless asked to (break-glass).
	bootstrap := svc.Bootstrap
	if c.Bool("recover-bootstrap") {
		bootstrap = svc.RecoverBootstrap
	}
	if err := bootstrap(ctx, dir); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mountCA(mux, st, authority, sched)
	mux.Handle("/", ra.NewServer(svc, ra.WithServerLogger(log)))

	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return withCode(ExitUsage, err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: tlsConf, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	// Held revocation-feed requests answer at once on shutdown instead of
	// making Shutdown wait out their long polls.
	srv.RegisterOnShutdown(svc.DrainFeed)

	// CRL refresh and late intent reconciliation, then scheduled SoLR
	// revocations and event ends (jobs live in the store, so they survive
	// a restart and run once), each only while this instance leads.
	go runCAMaintenance(ctx, authority, sched, time.Minute, log)
	go svc.RunScheduler(ctx, time.Second)

	addr := ln.Addr().String()
	fmt.Fprintf(c.App.Writer, "smki serving on https://%s\n", addr)
	fmt.Fprintf(c.App.Writer, "  data:        %s\n", absPath(dir))
	fmt.Fprintf(c.App.Writer, "  store:       %s\n", spec)
	fmt.Fprintf(c.App.Writer, "  roots:       https://%s/roots\n", addr)
	fmt.Fprintf(c.App.Writer, "  CRLs:        https://%s/crl/orl.crl, /crl/arl.crl\n", addr)
	if authority.RootOffline() {
		fmt.Fprintf(c.App.Writer, "  root key:    offline (ARL from the key ceremony: smki ca import-arl)\n")
	}
	fmt.Fprintf(c.App.Writer, "  TLS root:    %s\n", absPath(filepath.Join(dir, "access", "access-root.pem")))
	fmt.Fprintf(c.App.Writer, "  RA operator: --officer %s\n", absPath(filepath.Join(dir, "officers", "admin")))
	fmt.Fprintf(c.App.Writer, "  RA approver: --officer %s\n", absPath(filepath.Join(dir, "officers", "approver")))
	fmt.Fprintf(c.App.Writer, "  API:         https://%s/openapi.yaml\n", addr)
	if dev {
		fmt.Fprintf(c.App.Writer, "  test PKI:    %s\n", absPath(scenario))
	}
	if f := c.String("ready-file"); f != "" {
		if err := os.WriteFile(f, []byte(addr), 0o644); err != nil {
			return err
		}
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log.Info("shutting down")
	return srv.Shutdown(shutdown)
}

// openRAKeys opens (creating or migrating as needed) the RA access CA
// under DATA/access and the RA system signer under DATA/ra, both with their
// keys in authority's key backend, concurrently.
func openRAKeys(ctx context.Context, dir string, authority *ca.CA, log *slog.Logger) (*ra.AccessCA, *ra.SystemSigner, error) {
	var (
		access    *ra.AccessCA
		accessErr error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		access, accessErr = ra.OpenAccessCA(filepath.Join(dir, "access"), authority.KeyStore(), time.Now, log)
	}()
	signer, err := ra.OpenSystemSigner(ctx, filepath.Join(dir, "ra"), authority.KeyStore(), authority, ra.DefaultSystemID, time.Now(), log)
	<-done
	return access, signer, errors.Join(accessErr, err)
}

// mountCA serves what relying parties fetch without credentials.
// /healthz also says whether this instance runs scheduled work
// ("scheduler": "leader" or "standby") and how fresh the ARL is ("arl":
// "ok", "stale" past half its lifetime, "expired"; see ca.ARLState), which
// matters with the root offline, where only a key ceremony renews it.
func mountCA(mux *http.ServeMux, st store.Store, authority *ca.CA, sched *scheduler) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		err := st.View(r.Context(), func(tx store.Tx) error { _, err := tx.RevocationSeq(); return err })
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"status\":\"unavailable\",\"scheduler\":%q}\n", sched.state())
			return
		}
		arl := "unknown"
		if s, err := authority.ARLStatus(r.Context()); err == nil {
			arl = string(s.State)
		}
		fmt.Fprintf(w, "{\"status\":\"ok\",\"scheduler\":%q,\"arl\":%q}\n", sched.state(), arl)
	})
	mux.HandleFunc("GET /roots", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: authority.Root().Raw})
	})
	mux.HandleFunc("GET /ca/issuing.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: authority.Issuing().Raw})
	})
	mux.HandleFunc("GET /crl/{name}", func(w http.ResponseWriter, r *http.Request) {
		var name string
		switch r.PathValue("name") {
		case "orl.crl":
			name = "orl"
		case "arl.crl":
			name = "arl"
		default:
			http.NotFound(w, r)
			return
		}
		der, err := authority.CRL(r.Context(), name)
		if err != nil {
			http.Error(w, "E_CRL_UNAVAILABLE", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(der)
	})
}

// reconcileAfter is --reconcile-after, or the engine's default: every
// open intent on bbolt (this process is the only writer), only those older
// than ca.DefaultReconcileAfter on PostgreSQL (younger ones may be another
// instance's issuance in flight).
func reconcileAfter(c *ucli.Context, spec storeSpec) (time.Duration, error) {
	if v := c.String("reconcile-after"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return 0, usageErr("--reconcile-after %q: want a duration >= 0, e.g. 2m", v)
		}
		return d, nil
	}
	if spec.engine == "postgres" {
		return ca.DefaultReconcileAfter, nil
	}
	return 0, nil
}

// devPassphrase returns the dev-mode passphrase kept in DATA/passphrase,
// creating a random one on first start.
func devPassphrase(dir string) ([]byte, error) {
	p := filepath.Join(dir, "passphrase")
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	pass := []byte(hex.EncodeToString(raw[:]))
	if err := os.WriteFile(p, pass, 0o600); err != nil {
		return nil, err
	}
	return pass, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
