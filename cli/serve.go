package cli

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/server"
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
	pass, err := passphrase(c)
	if err != nil {
		return err
	}
	cfg := server.Config{
		DataDir:           c.String("data"),
		Listen:            c.String("listen"),
		Store:             c.String("store"),
		Passphrase:        pass,
		KMS:               c.String("kms"),
		Dev:               c.Bool("dev"),
		RecoverBootstrap:  c.Bool("recover-bootstrap"),
		RequireOfficerCSR: c.Bool("require-officer-csr"),
		OfflineRoot:       c.Bool("offline-root"),
		Logger:            slog.New(slog.NewJSONHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if v := c.String("reconcile-after"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return usageErr("--reconcile-after %q: want a duration >= 0, e.g. 2m", v)
		}
		cfg.ReconcileAfter = &d
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = server.Run(ctx, cfg, func(s *server.Server) error {
		s.WriteSummary(c.App.Writer)
		if f := c.String("ready-file"); f != "" {
			return os.WriteFile(f, []byte(s.Addr()), 0o644)
		}
		return nil
	})
	if errors.Is(err, server.ErrConfig) {
		return withCode(ExitUsage, err)
	}
	return err
}
