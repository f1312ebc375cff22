package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/credential"
)

// TestHardenedServer is issue 12's findings 5, 6 and 11 on the real
// binary, one `smki serve --dev` with short limits:
//   - 5: a kept-alive connection with no request is closed (idle
//     timeout), an officer trickling a body is cut off (read timeout),
//     one address cannot hold more than its connection cap, and the feed's
//     long poll outlives the write timeout;
//   - 6: /metrics on the HTTPS listener needs an officer's client
//     certificate; the separate --metrics-listen serves it without;
//   - 11: /metrics carries the Go runtime and process collectors.
func TestHardenedServer(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	const maxConns = 6
	cmd := exec.Command(smkiBin, "serve", "--dev", "--metrics-listen", "127.0.0.1:0",
		"--http-idle-timeout", "2s", "--http-read-timeout", "3s", "--http-write-timeout", "2s",
		"--http-max-conns-per-client", fmt.Sprint(maxConns))
	srv := startServer(t, cmd, data)
	admin := filepath.Join(data, "officers", "admin")
	officerTLS, err := credential.ClientTLS(admin)
	if err != nil {
		t.Fatal(err)
	}
	officerTLS.ServerName = "localhost"
	officer := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: officerTLS}}
	anonTLS := &tls.Config{RootCAs: officerTLS.RootCAs, ServerName: "localhost"}

	t.Run("Finding6MetricsNeedCertificate", func(t *testing.T) {
		code, body := srv.get(t, "/metrics")
		if code != http.StatusUnauthorized || !strings.Contains(string(body), "E_RA_UNAUTHENTICATED") {
			t.Fatalf("GET /metrics without a client certificate: %d %s; want 401 E_RA_UNAUTHENTICATED", code, body)
		}
		if code, body := getBody(t, officer, "https://"+srv.addr+"/metrics"); code != 200 || !strings.Contains(body, "smki_build_info") {
			t.Fatalf("GET /metrics as an officer: %d %.300s", code, body)
		}
		maddr := metricsAddr(t, srv)
		if code, body := getBody(t, http.DefaultClient, "http://"+maddr+"/metrics"); code != 200 || !strings.Contains(body, "smki_build_info") {
			t.Fatalf("GET /metrics on --metrics-listen: %d %.300s", code, body)
		}
		// The metrics listener serves nothing else.
		if code, _ := getBody(t, http.DefaultClient, "http://"+maddr+"/v1/whoami"); code != http.StatusNotFound {
			t.Fatalf("GET /v1/whoami on the metrics listener: %d, want 404", code)
		}
	})

	t.Run("Finding11RuntimeAndProcessMetrics", func(t *testing.T) {
		_, body := getBody(t, officer, "https://"+srv.addr+"/metrics")
		for _, series := range []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_open_fds ", "process_resident_memory_bytes ", "smki_server_connections_refused_total "} {
			if !strings.Contains(body, "\n"+series) {
				t.Errorf("/metrics lacks %s", series)
			}
		}
	})

	t.Run("Finding5IdleConnectionClosed", func(t *testing.T) {
		c := dialTLS(t, srv.addr, anonTLS)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first request: %d close=%v; want a kept-alive 200", resp.StatusCode, resp.Close)
		}
		// Now idle: the server must close the connection (idle timeout 2s);
		// 30 s without that is an idle connection kept forever.
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = br.ReadByte()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("an idle kept-alive connection was still open after %s", time.Since(start).Round(time.Second))
		}
		if err == nil {
			t.Fatal("the server sent bytes on an idle connection")
		}
		t.Logf("idle connection closed after %s (%v)", time.Since(start).Round(100*time.Millisecond), err)
	})

	t.Run("Finding5TrickledBodyCut", func(t *testing.T) {
		c := dialTLS(t, srv.addr, officerTLS)
		body := `{"id":"90-B3-D5-1F-30-00-00-77","name":"trickle"}`
		fmt.Fprintf(c, "POST /v1/parties HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)+200)
		// One byte a second, forever if the server lets it; it must
		// answer or close within its read timeout (3s), long before 30 s.
		done := make(chan error, 1)
		go func() {
			br := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(40 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				err = fmt.Errorf("answered %d %s", resp.StatusCode, b)
			}
			done <- err
		}()
		start := time.Now()
		for i := 0; ; i++ {
			select {
			case err := <-done:
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("a trickled body was read for %s without the server cutting it", time.Since(start).Round(time.Second))
				}
				if err != nil && strings.HasPrefix(err.Error(), "answered 2") {
					t.Fatalf("a trickled body was accepted: %v", err)
				}
				t.Logf("trickled body cut after %s: %v", time.Since(start).Round(100*time.Millisecond), err)
				return
			case <-time.After(time.Second):
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("a trickled body was read for %s without the server cutting it", time.Since(start).Round(time.Second))
			}
			b := []byte(" ")
			if i < len(body) {
				b = []byte{body[i]}
			}
			c.Write(b) // errors once the server has closed: the reader reports
		}
	})

	t.Run("Finding5ConnectionCapPerAddress", func(t *testing.T) {
		// Hold the cap's worth of connections (other subtests may hold a
		// few more for a while: the cap is per address, shared). Each
		// completes a handshake, so each is really accepted and counted.
		var held []*tls.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		refused := 0
		for range maxConns + 3 {
			raw, err := net.DialTimeout("tcp", srv.addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c := tls.Client(raw, anonTLS)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if err := c.Handshake(); err != nil {
				refused++
				raw.Close()
				continue
			}
			held = append(held, c)
		}
		if refused == 0 || len(held) > maxConns {
			t.Fatalf("held %d connections from one address with a cap of %d (%d refused)", len(held), maxConns, refused)
		}
		// Releasing them makes room again.
		for _, c := range held {
			c.Close()
		}
		held = nil
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, _, err := tryGet(srv.client, "https://"+srv.addr+"/healthz")
			if err == nil && code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after closing its connections the address is still refused: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		_, body := getBody(t, officer, "https://"+srv.addr+"/metrics")
		if m := regexp.MustCompile(`(?m)^smki_server_connections_refused_total (\d+)`).FindStringSubmatch(body); m == nil || m[1] == "0" {
			t.Errorf("smki_server_connections_refused_total does not count the refusals: %v", m)
		}
	})

	t.Run("Finding9InvalidUTF8Refused", func(t *testing.T) {
		// As the finding sent it: a name with a byte that is not UTF-8,
		// which the RA stored as U+FFFD and answered 201.
		const id = "90-B3-D5-1F-30-00-00-0E"
		resp, err := officer.Post("https://"+srv.addr+"/v1/parties", "application/json",
			strings.NewReader("{\"id\":\""+id+"\",\"name\":\"x\xff\"}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "E_RA_BAD_REQUEST") || !strings.Contains(string(b), "UTF-8") {
			t.Fatalf("party with an invalid UTF-8 name: %d %s; want 400 E_RA_BAD_REQUEST naming UTF-8", resp.StatusCode, b)
		}
		if code, body := getBody(t, officer, "https://"+srv.addr+"/v1/parties/"+id); code != http.StatusNotFound {
			t.Fatalf("the refused party was stored: %d %.300s", code, body)
		}
	})

	t.Run("Finding5FeedLongPollOutlivesWriteTimeout", func(t *testing.T) {
		start := time.Now()
		code, body := getBody(t, officer, "https://"+srv.addr+"/v1/revocations?since=0&wait=5s")
		took := time.Since(start)
		if code != 200 {
			t.Fatalf("feed long poll: %d %.300s", code, body)
		}
		if took < 3*time.Second {
			t.Fatalf("the feed answered after %s: the long poll did not wait past the 2s write timeout, so this proves nothing", took)
		}
	})
}

// metricsAddr reads the metrics listener's address from the server's
// summary in its log.
func metricsAddr(t *testing.T, srv *server) string {
	t.Helper()
	b, err := os.ReadFile(srv.log)
	if err != nil {
		t.Fatal(err)
	}
	// The start banner: a JSON record ("metrics":"http://...") when the
	// server logs JSON, as it does to a file (e007505), the text line
	// ("metrics: http://...") on a terminal.
	m := regexp.MustCompile(`(?:metrics: +|"metrics":")http://([^/\s"]+)/metrics`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no metrics address in the server log:\n%s", b)
	}
	return string(m[1])
}

func dialTLS(t *testing.T, addr string, conf *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func tryGet(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func getBody(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	code, body, err := tryGet(c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return code, body
}
