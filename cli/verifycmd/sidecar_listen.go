package verifycmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/internal/opfile"
	ucli "github.com/urfave/cli/v2"
)

// serveSidecar serves h on --listen (TCP host:port, or unix:/path) until
// ctx ends: plain HTTP, or HTTPS with --tls-cert/--tls-key, requiring
// client certificates from --tls-client-ca if given. It writes
// --ready-file once listening.
func serveSidecar(ctx context.Context, c *ucli.Context, log *slog.Logger, h http.Handler) error {
	tlsConf, err := sidecarTLS(c)
	if err != nil {
		return err
	}
	network, addr := "tcp", c.String("listen")
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
		// A socket left by a previous run is replaced; one a process
		// still answers on (another sidecar) is not, nor anything else.
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if conn, err := net.DialTimeout("unix", p, time.Second); err == nil {
				conn.Close()
				return configErr("--listen %s: in use: a process answers on that socket (another smki verifier serve?); stop it, or listen on another path", c.String("listen"))
			}
			os.Remove(p)
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return configErr("--listen %s: cannot listen there (%v): give a free local host:port, or unix:PATH", c.String("listen"), errors.Unwrap(err))
	}
	if network == "unix" {
		// Owner and group only: the socket is the command path.
		if err := os.Chmod(addr, 0o660); err != nil {
			ln.Close()
			return configErr("--listen %s: cannot make the socket mode 0660: %v", c.String("listen"), errors.Unwrap(err))
		}
		// Removed on exit only while it is still this one: a sidecar
		// started on the path while this one drained its last requests
		// keeps its socket (net's own unlink at Close does not check).
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		if ours, err := os.Lstat(addr); err == nil {
			defer func() {
				if now, err := os.Lstat(addr); err == nil && os.SameFile(ours, now) {
					os.Remove(addr)
				}
			}()
		}
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	log.Info("verifier listening", "addr", ln.Addr().String(), "network", network, "tls", tlsConf != nil, "ra", c.String("ra"))
	if f := c.String("ready-file"); f != "" {
		if err := durable.Replace(f, []byte(ln.Addr().String()), 0o644); err != nil {
			ln.Close()
			return configErr("--ready-file %s cannot be written (%v): give a path in a writable directory", f, errors.Unwrap(err))
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return verb.WithCode(verb.ExitError, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shut); errors.Is(err, context.DeadlineExceeded) {
		return verb.WithCode(verb.ExitError, fmt.Errorf("%w: requests still in flight %s after the signal to stop were cut "+
			"(each got no answer or a refusal; every accept answered was recorded first): stop the sidecar after its clients, "+
			"or let clients retry", errShutdown, shutdownGrace))
	} else if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return verb.WithCode(verb.ExitError, err)
	}
	return nil
}

// shutdownGrace is how long a stopping sidecar lets requests in flight
// finish.
const shutdownGrace = 5 * time.Second

// errShutdown: requests were still in flight when the shutdown's grace
// had passed, and were cut.
var errShutdown = errors.New("E_VERIFIER_SHUTDOWN")

// sidecarTLS is the HTTPS configuration from --tls-cert, --tls-key and
// --tls-client-ca, or nil for plain HTTP.
func sidecarTLS(c *ucli.Context) (*tls.Config, error) {
	certFile, keyFile, caFile := c.String("tls-cert"), c.String("tls-key"), c.String("tls-client-ca")
	if certFile == "" && keyFile == "" {
		if caFile != "" {
			return nil, configErr("--tls-client-ca needs --tls-cert and --tls-key (client certificates are asked for over HTTPS only)")
		}
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, configErr("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
	}
	pair, err := opfile.LoadX509KeyPair(certFile, keyFile)
	if errors.Is(err, opfile.ErrTooLarge) {
		return nil, configErr("--tls-cert/--tls-key: %v", err)
	}
	if err != nil {
		return nil, configErr("--tls-cert/--tls-key: they do not load as a PEM certificate and its key; check both files")
	}
	conf := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		cas, err := loadCerts(caFile)
		if err != nil {
			return nil, configErr("--tls-client-ca: %v", err)
		}
		pool := x509.NewCertPool()
		for _, ca := range cas {
			pool.AddCert(ca)
		}
		conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext(c *ucli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}
