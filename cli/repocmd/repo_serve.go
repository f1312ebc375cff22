package repocmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ocsp"
	"github.com/smki/smki/repo"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// repoServeCommand is `smki repo serve`: the repository (/repo/) and OCSP
// without the RA, reading the RA's PostgreSQL database and never writing
// it.
func repoServeCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "serve the repository (/repo/) and OCSP (/ocsp) without the RA, read-only from the RA's PostgreSQL database or a mirror",
		Description: `Relying-party traffic never touches the issuing server: any number of instances
   read the database the RA writes (sessions are read-only: PostgreSQL refuses a
   write) and give the same answers, byte for byte, as the RA's own /repo/. Plain
   HTTP unless --tls-cert and --tls-key are given: the repository's contents are
   signed (certificates, CRLs); put TLS in front if relying parties need it.
   /ocsp answers with the responses the RA pre-signed and published in the
   database (it holds no key): a serial with none is "unauthorized" (RFC 5019).

   With --dir instead of --store it serves a mirror directory (smki repo mirror
   --out DIR) with the live repository's headers and 304s; search and changes
   are live only, and a mirror carries no OCSP responses (docs/repository.md).

Examples:
   smki repo serve --store 'postgres://reader@db/smki' --listen 0.0.0.0:8080
   smki repo serve --dir /srv/smki --listen 0.0.0.0:8080`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "store", Usage: "the RA's PostgreSQL database (`URL`, postgres://...), read only", EnvVars: []string{"SMKI_REPO_STORE"}},
			&ucli.StringFlag{Name: "dir", Usage: "serve the mirror in `DIR` (written by smki repo mirror --out) instead; no /ocsp", EnvVars: []string{"SMKI_REPO_DIR"}},
			&ucli.StringFlag{Name: "listen", Usage: "address to serve on (`host:port`)", Value: "127.0.0.1:8080", EnvVars: []string{"SMKI_REPO_LISTEN"}},
			&ucli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate chain (`PEM`)"},
			&ucli.StringFlag{Name: "tls-key", Usage: "the key of --tls-cert (`PEM`)"},
			&ucli.StringFlag{Name: "ready-file", Usage: "write the listening address to this `FILE` once serving (for scripts and tests)"},
		},
		Action: repoServe,
	}
}

func repoServe(c *ucli.Context) error {
	url, dir := c.String("store"), c.String("dir")
	if (url == "") == (dir == "") {
		return verb.UsageErr("give --store (the RA's PostgreSQL database) or --dir (a mirror directory), one of them")
	}
	if url != "" && !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return verb.UsageErr("--store %q: want the RA's postgres:// URL (a bbolt file belongs to its one smki serve; mirror it and use --dir)", url)
	}
	if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
		return verb.UsageErr("--tls-cert and --tls-key go together")
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return verb.WithCode(verb.ExitUsage, fmt.Errorf("%w: --listen %s: %v", repo.ErrConfig, c.String("listen"), err))
	}
	defer ln.Close()
	log := slog.New(slog.NewJSONHandler(c.App.ErrWriter, nil))
	var handler http.Handler
	var ready func(context.Context) []string
	if dir != "" {
		if handler, err = mirrorHandler(dir, log); err != nil {
			return verb.WithCode(verb.ExitUsage, err)
		}
		ready = mirrorReady(dir)
	} else {
		st, err := postgres.OpenReadOnly(ctx, url)
		if err != nil {
			return fmt.Errorf("%w: opening the store: %w", repo.ErrUnavailable, err)
		}
		defer st.Close()
		if handler, err = storeHandler(ctx, st, log); err != nil {
			return err
		}
		ready = storeReady(st)
	}
	if handler, err = withHealth(handler, prometheus.NewRegistry(), ready); err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		if c.String("tls-cert") != "" {
			errc <- srv.ServeTLS(ln, c.String("tls-cert"), c.String("tls-key"))
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("repository serving", "addr", ln.Addr().String(), "store", url != "", "mirror", dir)
	if f := c.String("ready-file"); f != "" {
		if err := durable.Replace(f, []byte(ln.Addr().String()), 0o644); err != nil {
			return verb.WithCode(verb.ExitUsage, fmt.Errorf("--ready-file: %v", err))
		}
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%w: serving: %v", repo.ErrUnavailable, err)
		}
		return nil
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// storeHandler serves /repo/ and /ocsp from the RA's database.
func storeHandler(ctx context.Context, st store.Store, log *slog.Logger) (http.Handler, error) {
	root, issuing, err := ca.Certificates(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the CA certificates: %w", repo.ErrUnavailable, err)
	}
	h, err := repo.New(repo.Config{Store: st, Root: root, Issuing: issuing, Logger: log})
	if err != nil {
		return nil, err
	}
	responder, err := ocsp.NewPublished(ocsp.PublishedConfig{Store: st, Issuer: issuing})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(repo.Prefix, h)
	return responder.Wrap(mux), nil
}

// mirrorHandler serves /repo/ from a mirror directory. A mirror carries
// no OCSP responses (docs/repository.md): /ocsp says where to ask.
func mirrorHandler(dir string, log *slog.Logger) (http.Handler, error) {
	h, err := repo.NewDir(repo.DirConfig{Dir: dir, Logger: log})
	if err != nil {
		return nil, err
	}
	noOCSP := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "E_REPO_NOT_FOUND: this instance serves a static mirror, which carries no OCSP responses; "+
			"ask smki serve or smki repo serve --store for /ocsp", http.StatusNotFound)
	})
	mux := http.NewServeMux()
	mux.Handle(repo.Prefix, h)
	mux.Handle("/ocsp", noOCSP)
	mux.Handle("/ocsp/", noOCSP)
	return mux, nil
}
