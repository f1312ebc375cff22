package server

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/metricdoc"
)

// TestMetricsCatalogue: every smki_ metric smki serve registers is in
// docs/operations.md's catalogue with its type and labels, and every
// catalogued one is registered.
func TestMetricsCatalogue(t *testing.T) {
	t.Parallel()
	s, _, _, _ := serveDev(t)
	problems, err := metricdoc.Check(s.reg, filepath.Join("..", "docs", "operations.md"), "serve")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestMetricsCardinalityBounded: requests for many different serials,
// paths and routes that do not exist add no series per request: the
// labels are route patterns and codes, never what the request named.
func TestMetricsCardinalityBounded(t *testing.T) {
	t.Parallel()
	s, data, _, _ := serveDev(t)
	adminTLS, err := credential.ClientTLS(filepath.Join(data, "officers", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	officer := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: adminTLS}}
	get := func(path string) {
		resp, err := officer.Get("https://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	round := func() {
		b := make([]byte, 8)
		rand.Read(b)
		get(fmt.Sprintf("/v1/certificates/%x", b))
		get(fmt.Sprintf("/v1/parties/%x", b))
		get(fmt.Sprintf("/no/such/%x", b))
		get(fmt.Sprintf("/crl/%x.crl", b))
		get(fmt.Sprintf("/repo/certificates/%x", b))
		get(fmt.Sprintf("/ocsp/%x", b))
		get(fmt.Sprintf("/console/%x", b))
	}
	round()
	before, err := metricdoc.Series(s.reg, "smki_")
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		round()
	}
	after, err := metricdoc.Series(s.reg, "smki_")
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range after {
		if n != before[name] {
			t.Errorf("%s: %d series after 20 more rounds of distinct serials and paths, %d before", name, n, before[name])
		}
	}
	if after["smki_ra_http_requests_total"] == 0 || !strings.HasPrefix(s.Addr(), "127.0.0.1") {
		t.Fatalf("no request counted: %v", after)
	}
	if after["smki_ra_http_request_duration_seconds"] == 0 {
		t.Fatalf("no request timed (smki_ra_http_request_duration_seconds): %v", after)
	}
	// Every route is counted and timed, not only the RA API's.
	values := series(t, s.reg)
	for _, route := range []string{"GET /crl/{name}", "/repo/", "/ocsp", "/console/", "GET /v1/parties/{id}"} {
		counted, timed := false, false
		for k := range values {
			counted = counted || strings.HasPrefix(k, `smki_ra_http_requests_total{route="`+route+`"`)
			timed = timed || strings.HasPrefix(k, `smki_ra_http_request_duration_seconds{route="`+route+`"`)
		}
		if !counted || !timed {
			t.Errorf("route %q: counted %v, timed %v; want both", route, counted, timed)
		}
	}
}
