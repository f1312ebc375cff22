package raclient

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestProxyRefusal: a CONNECT the HTTPS proxy does not answer 200 is the
// proxy's refusal, told with what to change: credentials in the proxy's
// URL for 407 (never printing a password it already has), the proxy's
// rules or NO_PROXY otherwise. A 200 is no refusal.
func TestProxyRefusal(t *testing.T) {
	t.Parallel()
	proxy, _ := url.Parse("http://alice:secret@proxy.corp:3128")
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: "ra.example.org:8443"}}
	for _, tc := range []struct {
		status string
		code   int
		want   []string
	}{
		{"200 Connection Established", 200, nil},
		{"407 Proxy Authentication Required", 407, []string{"asks for credentials", "HTTPS_PROXY=http://USER:PASSWORD@host:port", "proxy.corp:3128"}},
		{"403 Forbidden", 403, []string{"refused to open a tunnel to ra.example.org:8443", "403 Forbidden", "NO_PROXY"}},
	} {
		err := proxyRefusal(context.Background(), proxy, req, &http.Response{Status: tc.status, StatusCode: tc.code})
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v, want no error", tc.status, err)
			}
			continue
		}
		reason, unsent := transportReason(err, time.Time{})
		for _, w := range tc.want {
			if !strings.Contains(reason, w) {
				t.Errorf("%s: %q does not say %q", tc.status, reason, w)
			}
		}
		if !unsent || strings.Contains(reason, "secret") {
			t.Errorf("%s: unsent %v, reason %q: want unsent, and no password", tc.status, unsent, reason)
		}
	}
}
