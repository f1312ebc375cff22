package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/librarytext"
)

// connectProxy is a corporate HTTPS proxy in miniature: it answers CONNECT
// host:port by dialling 127.0.0.1:port when host is the one name it knows
// (which no resolver does), and pipes bytes both ways, so TLS stays end to
// end between the client and the RA. It counts the tunnels it opened.
type connectProxy struct {
	addr    string
	host    string // the only host it tunnels to
	tunnels atomic.Int64
}

func startConnectProxy(t *testing.T, host string) *connectProxy {
	t.Helper()
	p := &connectProxy{host: host}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, port, err := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || err != nil || h != p.host {
			http.Error(w, "this proxy only tunnels to "+p.host, http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		p.tunnels.Add(1)
		conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
		wg.Add(2)
		go func() { defer wg.Done(); io.Copy(up, brw); up.(*net.TCPConn).CloseWrite() }()
		go func() { defer wg.Done(); io.Copy(conn, up); conn.Close() }()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return p
}

// runEnv is run with env added to the test's environment, less any proxy
// setting of the machine running the tests.
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, smkiBin, args...)
	cmd.Env = append(withoutProxy(os.Environ()), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running smki %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// withoutProxy is environ less its proxy settings (HTTPS_PROXY,
// HTTP_PROXY, NO_PROXY in either case).
func withoutProxy(environ []string) []string {
	var out []string
	for _, e := range environ {
		if name, _, _ := strings.Cut(e, "="); !strings.EqualFold(name, "HTTPS_PROXY") && !strings.EqualFold(name, "HTTP_PROXY") && !strings.EqualFold(name, "NO_PROXY") {
			out = append(out, e)
		}
	}
	return out
}

// TestClientThroughHTTPSProxy: an SRP behind a corporate proxy reaches the
// RA through it (HTTPS_PROXY or https_proxy, Go's ProxyFromEnvironment
// rules), with mTLS end to end through the CONNECT tunnel; NO_PROXY naming
// the RA bypasses the proxy. The RA's name resolves nowhere but in the
// proxy, so a client that ignores the proxy cannot reach it.
func TestClientThroughHTTPSProxy(t *testing.T) {
	t.Parallel()
	const name = "ra.proxy-test.invalid"
	data := t.TempDir() + "/data"
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--tls-name", name), data)
	_, port, err := net.SplitHostPort(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startConnectProxy(t, name)
	args := []string{"officer", "list", "--json", "--ra", "https://" + name + ":" + port, "--officer", data + "/officers/admin"}

	for _, tc := range []struct {
		name    string
		env     []string
		tunnels int64 // tunnels the run opens
		code    int
		stderr  string
	}{
		{"HTTPS_PROXY", []string{"HTTPS_PROXY=http://" + proxy.addr}, 1, 0, ""},
		{"https_proxy", []string{"https_proxy=http://" + proxy.addr}, 1, 0, ""},
		{"NO_PROXY names the RA", []string{"HTTPS_PROXY=http://" + proxy.addr, "NO_PROXY=" + name}, 0, 1, "E_RA_UNREACHABLE"},
		{"no_proxy suffix", []string{"HTTPS_PROXY=http://" + proxy.addr, "no_proxy=.proxy-test.invalid"}, 0, 1, "E_RA_UNREACHABLE"},
		{"no proxy", nil, 0, 1, "E_RA_UNREACHABLE"},
	} {
		before := proxy.tunnels.Load()
		r := runEnv(t, tc.env, args...)
		if got := proxy.tunnels.Load() - before; got != tc.tunnels {
			t.Errorf("%s: %d tunnels through the proxy, want %d\n%s%s", tc.name, got, tc.tunnels, r.stdout, r.stderr)
		}
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.name, r.code, tc.code, tc.stderr, r.stdout, r.stderr)
			continue
		}
		if tc.code == 0 && !strings.Contains(r.stdout, `"admin"`) {
			t.Errorf("%s: officer list through the proxy did not list the admin officer:\n%s", tc.name, r.stdout)
		}
		if m := librarytext.Find(r.stderr); m != "" {
			t.Errorf("%s: library text %q reaches the user:\n%s", tc.name, m, r.stderr)
		}
	}

	// trust export without a credential (--ra-ca) goes through the proxy too.
	before := proxy.tunnels.Load()
	out := t.TempDir() + "/trust"
	r := runEnv(t, []string{"HTTPS_PROXY=http://" + proxy.addr}, "trust", "export", "--ra", "https://"+name+":"+port,
		"--ra-ca", data+"/access/access-root.pem", "--out", out)
	if got := proxy.tunnels.Load() - before; got < 1 || r.code != 0 {
		t.Errorf("trust export --ra-ca: %d tunnels through the proxy, exit %d; want at least 1, exit 0\n%s%s", got, r.code, r.stdout, r.stderr)
	}
}

// TestSidecarFollowsThroughHTTPSProxy: `smki verifier serve --ra` behind a
// corporate proxy follows the RA through it (HTTPS_PROXY), as the client
// verbs do: its bundle refreshes, feed requests and repository reads
// tunnel through CONNECT, with no failed sync. The RA's name resolves
// nowhere but in the proxy, so a follower that ignores the proxy never
// reaches it.
func TestSidecarFollowsThroughHTTPSProxy(t *testing.T) {
	t.Parallel()
	const name = "ra.proxy-follow.invalid"
	data := t.TempDir() + "/data"
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--tls-name", name), data)
	_, port, err := net.SplitHostPort(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startConnectProxy(t, name)
	raURL := "https://" + name + ":" + port
	viaProxy := []string{"HTTPS_PROXY=http://" + proxy.addr}
	admin := data + "/officers/admin"
	trust := t.TempDir() + "/trust"
	if r := runEnv(t, viaProxy, "trust", "export", "--ra", raURL, "--officer", admin, "--out", trust); r.code != 0 {
		t.Fatalf("trust export through the proxy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := proxy.tunnels.Load()
	sc := startSidecarEnv(t, viaProxy, "--trust", trust, "--ra", raURL, "--officer", admin)
	waitHealthy(t, sc.addr)
	waitFor(t, 30*time.Second, "the sidecar's follower to tunnel through the proxy", func() bool {
		return proxy.tunnels.Load() > before
	})
	// The follower synced through the proxy: the RA's issuance list read
	// to the end, and no failed sync (a follower that cannot reach the RA
	// counts one per attempt).
	waitFor(t, 30*time.Second, "the sidecar to read the RA's issuance list through the proxy", func() bool {
		return sidecarMetric(t, sc.addr, "smki_verifier_issuance_list_complete") == 1
	})
	for _, kind := range []string{"bundle", "revocations"} {
		if n := sidecarMetric(t, sc.addr, `smki_verifier_follower_errors_total{kind="`+kind+`"}`); n > 0 {
			t.Errorf("the follower failed %v %s syncs through the proxy", n, kind)
		}
	}
}

// sidecarMetric is the value of the sidecar's metric line that starts
// with series (name and labels), 0 if it has none.
func sidecarMetric(t *testing.T, addr, series string) float64 {
	t.Helper()
	_, body := getBody(t, http.DefaultClient, "http://"+addr+"/metrics")
	return metricIn(t, body, series)
}

// serverMetric is sidecarMetric for smki serve's /metrics, read with the
// admin officer's credential.
func serverMetric(t *testing.T, srv *server, series string) float64 {
	t.Helper()
	officerTLS, err := credential.ClientTLS(filepath.Join(srv.data, "officers", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	officerTLS.ServerName = "localhost"
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: officerTLS}}
	code, body := getBody(t, c, "https://"+srv.addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics as admin: %d %.300s", code, body)
	}
	return metricIn(t, body, series)
}

// metricIn is the value of the line of a Prometheus text body that
// starts with series (name and labels), 0 if it has none.
func metricIn(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s %q: %v", series, v, err)
			}
			return f
		}
	}
	return 0
}
