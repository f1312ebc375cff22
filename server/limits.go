package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Connection limits (issue 12 finding 5). A client without a certificate
// reaches the TLS handshake and the public endpoints, so every stage of a
// connection has a bound: the handshake and the request headers
// (headerTimeout), a request body (Config.ReadTimeout), writing the answer
// (Config.WriteTimeout; the long answers — the revocation feed's long poll,
// a store backup, a revocation's progress stream — set their own deadlines
// in package raserver), the wait for the next request on a kept-alive
// connection (Config.IdleTimeout), and how many connections one client
// address holds at once (Config.MaxConnsPerClient).
const (
	// headerTimeout bounds the TLS handshake and the request line and
	// headers together (slowloris).
	headerTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a kept-alive connection with no request.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultReadTimeout bounds reading one request body.
	DefaultReadTimeout = 60 * time.Second
	// DefaultWriteTimeout bounds writing one answer (long answers extend it).
	DefaultWriteTimeout = 60 * time.Second
	// DefaultMaxConnsPerClient is the most connections one client IP
	// address holds open at once; more are closed on accept. It is above
	// what one busy client (or a NAT of a few) uses, and far below the
	// process's file descriptor limit.
	DefaultMaxConnsPerClient = 256
)

// limitListener closes a new connection at once when its remote IP
// address already holds max open connections.
type limitListener struct {
	net.Listener
	max     int
	log     *slog.Logger
	refused prometheus.Counter

	mu   sync.Mutex
	open map[string]int
	// lastLog rate-limits the refusal log line to one a second.
	lastLog atomic.Int64
}

func newLimitListener(ln net.Listener, max int, log *slog.Logger, refused prometheus.Counter) *limitListener {
	return &limitListener{Listener: ln, max: max, log: log, refused: refused, open: map[string]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := remoteHost(c)
		l.mu.Lock()
		n := l.open[host]
		if n >= l.max {
			l.mu.Unlock()
			c.Close()
			l.refused.Inc()
			if now := time.Now().UnixNano(); now-l.lastLog.Load() > int64(time.Second) {
				l.lastLog.Store(now)
				l.log.Warn("connection refused: too many open connections from one address",
					"remote", host, "max_conns_per_client", l.max)
			}
			continue
		}
		l.open[host] = n + 1
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(host) }}, nil
	}
}

func (l *limitListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host] <= 1 {
		delete(l.open, host)
		return
	}
	l.open[host]--
}

// remoteHost is the connection's remote IP address (the port differs per
// connection, so it is not part of the client's identity here).
func remoteHost(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// bodyDeadline bounds reading a request body by d from the moment the
// handler starts, so an authenticated client cannot trickle a body
// forever. net/http's own ReadTimeout would do that too, but it also
// stays on the connection while the handler runs, where its expiry
// cancels the request (a long poll, a backup); here the deadline is lifted
// as soon as the body has been read to its end.
func bodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			rc := http.NewResponseController(w)
			if err := rc.SetReadDeadline(time.Now().Add(d)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { rc.SetReadDeadline(time.Time{}) }}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline once the body is read to its end.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	lift func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}
