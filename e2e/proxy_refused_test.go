package e2e

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/librarytext"
)

// TestClientProxyRefusal: an SRP behind a corporate proxy whose proxy
// will not carry it to the RA. A proxy that refuses the tunnel (many
// allow CONNECT to port 443 only; this one to one host) and a proxy that
// is not there (HTTPS_PROXY naming a closed port) are told as the proxy's
// doing, with what to change (the proxy's rules, HTTPS_PROXY, NO_PROXY),
// not as the RA refusing or dropping the connection ("check --ra", "try
// again"), and say nothing was sent: smki enroll must not suggest sending
// it again as if the RA might have issued. Exit 1, E_RA_UNREACHABLE, no
// raw library text.
func TestClientProxyRefusal(t *testing.T) {
	t.Parallel()
	const name = "ra.proxy-refused.invalid"
	srv, data, _ := devRA(t)
	_, port, err := net.SplitHostPort(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startConnectProxy(t, name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	work := t.TempDir()
	csr := filepath.Join(work, "sc.csr")
	mustRun(t, nil, "keygen", "--out", filepath.Join(work, "sc.key"))
	mustRun(t, nil, "csr", "--key", filepath.Join(work, "sc.key"), "--user-id", "90-B3-D5-1F-30-05-00-00", "--profile", "xml-signing", "--out", csr)
	admin := filepath.Join(data, "officers", "admin")
	for _, tc := range []struct {
		name  string
		env   []string
		ra    string
		want  []string
		never []string
	}{
		{"proxy refuses the tunnel", []string{"HTTPS_PROXY=http://" + proxy.addr}, "https://other.proxy-refused.invalid:" + port,
			[]string{"proxy", proxy.addr, "refused", "403", "other.proxy-refused.invalid:" + port, "NO_PROXY"}, []string{"try again"}},
		{"proxy not there", []string{"https_proxy=http://" + closed}, "https://" + name + ":" + port,
			[]string{"proxy", closed, "could not be reached", "HTTPS_PROXY", "NO_PROXY"}, []string{"check --ra", "RA is running"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"officer", "list"},
				{"enroll", "--user-id", "90-B3-D5-1F-30-05-00-00", "--profile", "xml-signing", "--csr", csr},
			} {
				r := runEnv(t, tc.env, append(args, "--ra", tc.ra, "--officer", admin)...)
				if r.code != 1 || !strings.Contains(r.stderr, "E_RA_UNREACHABLE") {
					t.Errorf("smki %s: exit %d, want 1 E_RA_UNREACHABLE\n%s%s", args[0], r.code, r.stdout, r.stderr)
				}
				for _, w := range append(tc.want, "nothing was sent") {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("smki %s: stderr does not say %q:\n%s", args[0], w, r.stderr)
					}
				}
				for _, n := range append(tc.never, "may have been carried out", "run the same command again") {
					if strings.Contains(r.stderr, n) {
						t.Errorf("smki %s: stderr says %q:\n%s", args[0], n, r.stderr)
					}
				}
				if m := librarytext.Find(r.stderr); m != "" {
					t.Errorf("smki %s: library text %q:\n%s", args[0], m, r.stderr)
				}
			}
		})
	}
}
