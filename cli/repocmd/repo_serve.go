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

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ocsp"
	"github.com/smki/smki/repo"
	"github.com/smki/smki/store/postgres"
)

// repoServeCommand is `smki repo serve`: the repository (/repo/) and OCSP
// without the RA, reading the RA's PostgreSQL database and never writing
// it.
func repoServeCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "serve the repository (/repo/) and OCSP (/ocsp) without the RA, read-only from the RA's PostgreSQL database",
		Description: `Relying-party traffic never touches the issuing server: any number of instances
   read the database the RA writes (sessions are read-only: PostgreSQL refuses a
   write) and give the same answers, byte for byte, as the RA's own /repo/. Plain
   HTTP unless --tls-cert and --tls-key are given: the repository's contents are
   signed (certificates, CRLs); put TLS in front if relying parties need it.
   /ocsp answers with the responses the RA pre-signed and published in the
   database (it holds no key): a serial with none is "unauthorized" (RFC 5019).

Example:
   smki repo serve --store 'postgres://reader@db/smki' --listen 0.0.0.0:8080`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "store", Usage: "the RA's PostgreSQL database (`URL`, postgres://...), read only", EnvVars: []string{"SMKI_REPO_STORE"}, Required: true},
			&ucli.StringFlag{Name: "listen", Usage: "address to serve on (`host:port`)", Value: "127.0.0.1:8080", EnvVars: []string{"SMKI_REPO_LISTEN"}},
			&ucli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate chain (`PEM`)"},
			&ucli.StringFlag{Name: "tls-key", Usage: "the key of --tls-cert (`PEM`)"},
			&ucli.StringFlag{Name: "ready-file", Usage: "write the listening address to this `FILE` once serving (for scripts and tests)"},
		},
		Action: repoServe,
	}
}

func repoServe(c *ucli.Context) error {
	url := c.String("store")
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return verb.UsageErr("--store %q: want the RA's postgres:// URL (a bbolt file belongs to its one smki serve)", url)
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
	st, err := postgres.OpenReadOnly(ctx, url)
	if err != nil {
		return fmt.Errorf("%w: opening the store: %w", repo.ErrUnavailable, err)
	}
	defer st.Close()
	root, issuing, err := ca.Certificates(ctx, st)
	if err != nil {
		return fmt.Errorf("%w: reading the CA certificates: %w", repo.ErrUnavailable, err)
	}
	log := slog.New(slog.NewJSONHandler(c.App.ErrWriter, nil))
	h, err := repo.New(repo.Config{Store: st, Root: root, Issuing: issuing, Logger: log})
	if err != nil {
		return err
	}
	responder, err := ocsp.NewPublished(ocsp.PublishedConfig{Store: st, Issuer: issuing})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(repo.Prefix, h)
	srv := &http.Server{Handler: responder.Wrap(mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		if c.String("tls-cert") != "" {
			errc <- srv.ServeTLS(ln, c.String("tls-cert"), c.String("tls-key"))
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("repository serving", "addr", ln.Addr().String(), "issuing", issuing.Subject.CommonName)
	if f := c.String("ready-file"); f != "" {
		if err := os.WriteFile(f, []byte(ln.Addr().String()), 0o644); err != nil {
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
