package repocmd

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/internal/metricdoc"
)

// TestRepoServeHealth: smki repo serve answers /healthz, /readyz (503
// with the reason while its store or mirror is gone) and /metrics
// (smki_repo_ready), catalogued in docs/operations.md; every other
// request, an OCSP GET whose base64 holds "//" among them, reaches the
// repository unchanged.
func TestRepoServeHealth(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	var seen atomic.Pointer[string]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p := r.URL.Path; seen.Store(&p) })
	reg := prometheus.NewRegistry()
	hh, err := withHealth(h, reg, func(context.Context) []string {
		if down.Load() {
			return []string{"store: the RA's database does not answer a read"}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hh)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "smki_repo_ready 1\n") || !strings.Contains(body, "smki_build_info{") {
		t.Errorf("/metrics ready:\n%s", body)
	}
	down.Store(true)
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "does not answer") {
		t.Errorf("/readyz with the store down: %d %s", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "smki_repo_ready 0\n") {
		t.Errorf("/metrics not ready:\n%s", body)
	}
	const ocspGet = "/ocsp/MEkwRzBFMEMwQTAJBgUrDgMCGgUABBQ//+abc"
	if code, _ := get(ocspGet); code != 200 || seen.Load() == nil || *seen.Load() != ocspGet {
		t.Errorf("OCSP GET: %d, reached the repository as %v", code, seen.Load())
	}

	problems, err := metricdoc.Check(reg, filepath.Join("..", "..", "docs", "operations.md"), "repo")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}

	dir := t.TempDir()
	if r := mirrorReady(dir)(context.Background()); len(r) != 1 || !strings.Contains(r[0], "smki repo mirror") {
		t.Errorf("mirror without index.json: %v", r)
	}
	os.WriteFile(filepath.Join(dir, "index.json"), []byte("{}"), 0o644)
	if r := mirrorReady(dir)(context.Background()); r != nil {
		t.Errorf("mirror with index.json: %v", r)
	}
}
