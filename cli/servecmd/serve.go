package servecmd

import (
	"context"
	"errors"
	"github.com/smki/smki/internal/durable"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/server"
)

// Command is smki serve: the RA/CA server, from its settings.
func Command() *ucli.Command {
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
		Flags:  serveFlags(),
		Action: serve,
	}
}

// serveFlags are the settings' flags plus --config and --print-config.
func serveFlags() []ucli.Flag {
	fs := []ucli.Flag{
		&ucli.StringFlag{Name: "config", EnvVars: []string{"SMKI_CONFIG"},
			Usage: "server config file (YAML; every setting below has a key, see deploy/smki.example.yaml); a flag or environment variable wins over it"},
		&ucli.BoolFlag{Name: "print-config", Usage: "print the effective configuration, with the source of each value and secrets redacted, and exit"},
	}
	for _, s := range serveSettings() {
		fs = append(fs, s.flag)
	}
	return fs
}

func serve(c *ucli.Context) error {
	rs, err := resolveServe(c)
	if err != nil {
		return err
	}
	if c.Bool("print-config") {
		return printConfig(c.App.Writer, rs)
	}
	cfg, readyFile, err := serverConfig(c, rs)
	if err != nil {
		return err
	}
	gc, apply, err := gcPercent(rs, os.Getenv)
	if err != nil {
		return err
	}
	if apply {
		debug.SetGCPercent(gc)
		cfg.Logger.Info("garbage collector target set", "gc_percent", gc, "source", rs["gc_percent"].source)
	} else {
		cfg.Logger.Info("garbage collector target from GOGC", "GOGC", os.Getenv("GOGC"))
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = server.Run(ctx, cfg, func(s *server.Server) error {
		// The start banner: in a JSON log, a record of it (stdout and
		// stderr share the journal, whose reader expects JSON only).
		if logFormat(c.App.ErrWriter, rs["log.format"].scalar) == "json" {
			s.LogSummary(cfg.Logger)
		} else {
			s.WriteSummary(c.App.Writer)
		}
		reloadOnHangup(ctx, s, cfg.Logger)
		if readyFile != "" {
			// Atomically: whoever polls for it reads the whole address.
			return durable.Replace(readyFile, []byte(s.Addr()), 0o644)
		}
		return nil
	})
	// A setting to fix exits 2, which deploy/smki.service does not
	// restart; so does a PIN the token refuses (retried every RestartSec,
	// it would lock the token), and a key file others may read (only a
	// chmod mends it).
	if errors.Is(err, server.ErrConfig) || errors.Is(err, ca.ErrKMSPIN) || errors.Is(err, ca.ErrKeyFileMode) {
		return verb.WithCode(verb.ExitUsage, err)
	}
	return err
}

// reloadOnHangup reloads the operator TLS certificate on each SIGHUP until
// ctx ends; connections in flight keep theirs.
func reloadOnHangup(ctx context.Context, s *server.Server, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := s.ReloadTLS(); err != nil {
					log.Error("SIGHUP: TLS certificate not reloaded; still serving the previous one", "err", err)
				}
			}
		}
	}()
}
