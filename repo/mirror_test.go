package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestMirrorMatchesLive: a mirror served by a plain file server answers
// every URL it holds with the live repository's bytes, holds every
// certificate's files, and later runs fetch only what changed.
func TestMirrorMatchesLive(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for i := range 5 {
		p.issue(int64(0x100+i), userA, partyP, "IS")
	}
	p.revoke("101", 1)
	p.publishCRL("orl", 1, 24*time.Hour)
	p.publishCRL("arl", 1, 24*time.Hour)
	mux := http.NewServeMux()
	mux.Handle(Prefix, p.handler(t, -1, 0))
	live := httptest.NewServer(mux)
	defer live.Close()
	out := t.TempDir()
	files := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer files.Close()

	run := func() MirrorStats {
		t.Helper()
		st, err := Mirror(context.Background(), MirrorOptions{BaseURL: live.URL, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	compare := func(wantSerials ...string) {
		t.Helper()
		var paths []string
		err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(out, path)
				paths = append(paths, "/"+filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"/repo/index.json", "/repo/ca/root.pem", "/repo/ca/root.der", "/repo/ca/issuing.pem",
			"/repo/ca/issuing.der", "/repo/crl/orl.crl", "/repo/crl/arl.crl"}
		for _, s := range wantSerials {
			want = append(want, "/repo/certs/"+s, "/repo/certs/"+s+".pem", "/repo/certs/"+s+".der", "/repo/certs/"+s+".json")
		}
		sort.Strings(want)
		sort.Strings(paths)
		if strings.Join(paths, " ") != strings.Join(want, " ") {
			t.Fatalf("mirror holds\n%v\nwant\n%v", paths, want)
		}
		for _, path := range paths {
			a, b := fetch(t, live.URL+path), fetch(t, files.URL+path)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: the mirror serves %d bytes that differ from the live %d", path, len(b), len(a))
			}
		}
	}

	st := run()
	if st.Issued != 5 || st.Revoked != 1 || st.IssuanceSeq != 5 || st.RevocationSeq != 1 {
		t.Errorf("first run: %+v", st)
	}
	compare("100", "101", "102", "103", "104")

	// Two new certificates, a revocation of an old one and a new ORL:
	// only those are fetched; the CA certificates and ARL answer 304.
	p.advance(time.Minute)
	p.issue(0x105, userB, partyP, "GS")
	p.issue(0x106, userB, partyP, "GS")
	p.revoke("103", 4)
	p.publishCRL("orl", 2, 24*time.Hour)
	st = run()
	// index, changes (with the certificates), orl
	if st.Issued != 2 || st.Revoked != 1 || st.Fetched != 3 || st.Unchanged != 5 || st.IssuanceSeq != 7 || st.RevocationSeq != 2 {
		t.Errorf("second run: %+v, want 2 issued, 1 revoked, 3 fetched, 5 unchanged", st)
	}
	compare("100", "101", "102", "103", "104", "105", "106")
	if !bytes.Contains(fetch(t, files.URL+"/repo/certs/103.json"), []byte(`"status": "revoked"`)) {
		t.Error("the mirror's 103.json does not say revoked")
	}

	// Nothing changed: the index and six conditional requests.
	if st = run(); st.Issued != 0 || st.Revoked != 0 || st.Fetched != 1 || st.Unchanged != 6 {
		t.Errorf("idle run: %+v", st)
	}
}

// TestMirrorRefusesStrangers: a server that is not a repository, or one
// behind the mirror, is refused with E_REPO_MIRROR and nothing written.
func TestMirrorRefusesStrangers(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	p.issue(0x100, userA, partyP, "IS")
	mux := http.NewServeMux()
	mux.Handle(Prefix, p.handler(t, -1, 0))
	live := httptest.NewServer(mux)
	defer live.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>") }))
	defer other.Close()
	out := t.TempDir()
	if _, err := Mirror(context.Background(), MirrorOptions{BaseURL: other.URL, Out: out}); err == nil || !strings.Contains(err.Error(), "E_REPO_MIRROR") {
		t.Errorf("not a repository: %v", err)
	}
	if _, err := Mirror(context.Background(), MirrorOptions{BaseURL: live.URL, Out: out}); err != nil {
		t.Fatal(err)
	}
	empty := newPKI(t)
	mux2 := http.NewServeMux()
	mux2.Handle(Prefix, empty.handler(t, -1, 0))
	behind := httptest.NewServer(mux2)
	defer behind.Close()
	if _, err := Mirror(context.Background(), MirrorOptions{BaseURL: behind.URL, Out: out}); err == nil || !strings.Contains(err.Error(), "behind this mirror") {
		t.Errorf("a repository behind the mirror: %v", err)
	}
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

// TestMirrorWithinRateLimit: a first copy of 300 certificates (in pages
// of 100) from a repository that allows 12 requests at once and none after
// that (its clock stands still) is never refused (429), because the
// certificates come in the changes pages; and the copy holds every
// certificate's files with the live bytes. Fetching each certificate's
// files (900 requests) would be refused.
func TestMirrorWithinRateLimit(t *testing.T) {
	t.Parallel()
	const n = 300
	p := newPKI(t)
	err := p.st.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			serial := big.NewInt(int64(0x1000 + i))
			c := store.Certificate{Serial: serial.Text(16), Issuer: "issuing-ca", UserID: userA, PartyID: partyP, Role: "IS",
				Profile: "xml-signing", NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.AddDate(1, 0, 0), IssuedAt: p.now,
				DER: p.sign(serial), Status: store.StatusGood}
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p.revoke("1001", 1)
	p.publishCRL("orl", 1, 24*time.Hour)
	var refused atomic.Int64
	limited := p.handler(t, 1, 12)
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		limited.ServeHTTP(rec, r)
		if rec.status == http.StatusTooManyRequests {
			refused.Add(1)
		}
	}))
	defer live.Close()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Mirror(ctx, MirrorOptions{BaseURL: live.URL, Out: out, pageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if refused.Load() != 0 || st.Issued != n || st.Revoked != 1 || st.Fetched+st.Unchanged > 12 {
		t.Errorf("mirror: %+v with %d answers 429; want %d issued in at most 12 requests, none refused", st, refused.Load(), n)
	}
	open := p.handler(t, -1, 0) // the same repository, unlimited, to compare with
	for _, s := range []string{"1000", "1001", "1063", "112b"} {
		for _, suffix := range []string{"", ".pem", ".der", ".json"} {
			b, err := os.ReadFile(filepath.Join(out, "repo", "certs", s+suffix))
			if want := get(open, "/repo/certs/"+s+suffix).body; err != nil || !bytes.Equal(b, want) {
				t.Errorf("certs/%s%s: mirror holds %d bytes (%v), live serves %d", s, suffix, len(b), err, len(want))
			}
		}
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// TestMirrorWritesDescriptionLast: a run that fails while writing a new
// certificate's files (here its .pem, where a directory stands) has
// written its DER and not its description: the mirror never describes a
// certificate it does not hold. The next run completes it.
func TestMirrorWritesDescriptionLast(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	p.issue(0x100, userA, partyP, "IS")
	mux := http.NewServeMux()
	mux.Handle(Prefix, p.handler(t, -1, 0))
	live := httptest.NewServer(mux)
	defer live.Close()
	out := t.TempDir()
	certs := filepath.Join(out, "repo", "certs")
	blocker := filepath.Join(certs, "100.pem")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Mirror(context.Background(), MirrorOptions{BaseURL: live.URL, Out: out}); err == nil {
		t.Fatal("Mirror wrote over a directory")
	}
	if _, err := os.Stat(filepath.Join(certs, "100.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the failed run, 100.json: %v; want absent (described before its other files)", err)
	}
	if _, err := os.Stat(filepath.Join(certs, "100.der")); err != nil {
		t.Errorf("after the failed run, 100.der: %v; want written first", err)
	}
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	if _, err := Mirror(context.Background(), MirrorOptions{BaseURL: live.URL, Out: out}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"100", "100.pem", "100.der", "100.json"} {
		if _, err := os.Stat(filepath.Join(certs, name)); err != nil {
			t.Errorf("after the second run: %v", err)
		}
	}
}
