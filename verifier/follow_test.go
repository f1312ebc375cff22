package verifier

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/role"
)

// fakeRA serves a signed bundle and a revocation feed that long-polls until
// a page is published.
type fakeRA struct {
	t      *testing.T
	s      *scenario
	mu     sync.Mutex
	bundle []byte
	pages  []*bundle.FeedPage // pages[i].Seq ascending
	news   chan struct{}
	sinces []uint64
	crls   map[string][]byte // path -> DER (ETag: its number of bytes)
	crlINM []string          // If-None-Match of each CRL request
}

func (ra *fakeRA) sign(b *bundle.Bundle) {
	data, err := bundle.Sign(b, ra.s.bundleSigner.key, []*x509.Certificate{ra.s.bundleSigner.cert, ra.s.pki.ca})
	if err != nil {
		ra.t.Fatal(err)
	}
	ra.mu.Lock()
	ra.bundle = data
	ra.mu.Unlock()
}

func (ra *fakeRA) publish(p *bundle.FeedPage) {
	ra.mu.Lock()
	ra.pages = append(ra.pages, p)
	ra.mu.Unlock()
	ra.news <- struct{}{}
}

func (ra *fakeRA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/bundle":
		ra.mu.Lock()
		b := ra.bundle
		ra.mu.Unlock()
		w.Write(b)
	case "/v1/revocations":
		since, err := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
		if err != nil {
			http.Error(w, "since", http.StatusBadRequest)
			return
		}
		ra.mu.Lock()
		ra.sinces = append(ra.sinces, since)
		ra.mu.Unlock()
		for {
			ra.mu.Lock()
			var page *bundle.FeedPage
			for _, p := range ra.pages {
				if p.Seq > since {
					page = p
				}
			}
			ra.mu.Unlock()
			if page != nil {
				data, err := bundle.SignFeedPage(page, ra.s.bundleSigner.key, []*x509.Certificate{ra.s.bundleSigner.cert, ra.s.pki.ca})
				if err != nil {
					ra.t.Error(err)
				}
				w.Write(data)
				return
			}
			select {
			case <-ra.news:
			case <-r.Context().Done():
				return
			case <-time.After(2 * time.Second):
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	default:
		ra.mu.Lock()
		der, ok := ra.crls[r.URL.Path]
		if ok {
			ra.crlINM = append(ra.crlINM, r.Header.Get("If-None-Match"))
		}
		ra.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf("%q", strconv.Itoa(len(der)))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write(der)
	}
}

func TestFollowerAppliesUpdates(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ra := &fakeRA{t: t, s: s, news: make(chan struct{}, 4)}
	ra.sign(s.bundle)
	srv := httptest.NewServer(ra)
	defer srv.Close()

	v := s.verifier(t, nil)
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	f := &Follower{Verifier: v, BaseURL: srv.URL, Client: srv.Client(), Roots: roots, BundleInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond}

	// Same bundle: nothing installed.
	if ok, err := f.SyncBundle(context.Background()); err != nil || ok {
		t.Fatalf("same bundle: %v %v", ok, err)
	}
	// A newer bundle that lets SC send 1.1.1 is installed (R3, live).
	b := cloneBundle(t, s.bundle)
	b.IssuedAt = b.IssuedAt.Add(time.Minute)
	b.AllowLists[role.SoLRContingency] = []string{"1.6", "1.1.1"}
	b.ADT[0].SRVs["1.1.1"] = bundle.ADTThreshold{Period: bundle.Duration(time.Hour), Quarantine: 5}
	ra.sign(b)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	waitFor(t, func() bool { return v.Bundle().IssuedAt.Equal(b.IssuedAt) })
	if d := v.Verify(sign(t, request(t, tmplTariff, userSC, devA1, 1), s.sc, false), testNow.Add(time.Minute)); !d.Accepted() {
		t.Fatalf("after the bundle update: %+v", d)
	}
	// A feed page revoking the SC certificate reaches the long-poll.
	ra.publish(&bundle.FeedPage{Seq: 8, IssuedAt: testNow, Revoked: []bundle.RevokedCert{{Issuer: "CN=Z1,OU=07",
		Serial: s.sc.cert.SerialNumber.Text(16), RevokedAt: testNow}}})
	waitFor(t, func() bool { return v.RevocationSeq() == 8 })
	if d := v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, 2), s.sc, false), testNow.Add(time.Minute)); d.Code != CodeREVOKED {
		t.Fatalf("after the feed page: %+v", d)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run = %v", err)
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if len(ra.sinces) == 0 || ra.sinces[0] != 7 {
		t.Fatalf("first since = %v, want the bundle's revocation_seq 7", ra.sinces)
	}
}

func TestFollowerRefusesForgedData(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	other := newTestPKI(t, testNow)
	forger := identity{}
	forger.cert, forger.key = other.leaf(t, leafSpec{id: userSC, ou: "89", roles: []role.UserRole{role.OtherUser}})
	b := cloneBundle(t, s.bundle)
	b.IssuedAt = b.IssuedAt.Add(time.Minute)
	b.SoLREvents = nil
	forged, err := bundle.Sign(b, forger.key, []*x509.Certificate{forger.cert, other.ca})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(forged) }))
	defer srv.Close()
	v := s.verifier(t, nil)
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	f := &Follower{Verifier: v, BaseURL: srv.URL, Client: srv.Client(), Roots: roots}
	gen := v.Generation()
	if _, err := f.SyncBundle(context.Background()); err == nil {
		t.Fatal("forged bundle installed")
	}
	if _, err := f.SyncRevocations(context.Background()); err == nil {
		t.Fatal("bundle accepted as a feed page")
	}
	if v.Generation() != gen {
		t.Fatal("forged data changed the verifier")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	srv := httptest.NewServer(Handler(v, 4096))
	defer srv.Close()
	post := func(body []byte) (int, Decision) {
		resp, err := srv.Client().Post(srv.URL+"/v1/verify", "application/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d Decision
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, d
	}
	msg := sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false)
	if code, d := post(msg); code != 200 || !d.Accepted() || d.Route != devA1.String() {
		t.Fatalf("accept: %d %+v", code, d)
	}
	if code, d := post(msg); code != 200 || d.Code != CodeREPLAY {
		t.Fatalf("replay: %d %+v", code, d)
	}
	if code, d := post(bytes.Repeat([]byte("x"), 5000)); code != 200 || d.Code != CodeMALFORMED {
		t.Fatalf("oversized: %d %+v", code, d)
	}
	resp, err := srv.Client().Get(srv.URL + "/v1/verify")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/verify: %d", resp.StatusCode)
	}
	resp, err = srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	// Stale data: not ready (503 with the reason), but alive (healthz 200).
	stale := s.verifier(t, func(o *Options) { o.Clock = func() time.Time { return testNow.Add(48 * time.Hour) } })
	rec := httptest.NewRecorder()
	Handler(stale, 0).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ready":false`) {
		t.Fatalf("stale healthz: %d %s, want 200 (liveness) saying ready false", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	Handler(stale, 0).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "stale") {
		t.Fatalf("stale readyz: %d %s, want 503 naming stale data", rec.Code, rec.Body)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowerCutsAStalledRA: a request to the RA that receives nothing
// for Follower.StallTimeout (no answer headers, or no byte of the body)
// fails, as a failure that may pass by itself, and readiness counts it.
// Before, an RA (or a proxy tunnel to it) that went silent without closing
// the connection held the sync forever: no bundle and no revocation was
// applied, nothing failed, /readyz answered 200 and requests were
// accepted on the data in hand until it was max_age (24 h) old.
func TestFollowerCutsAStalledRA(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/bundle" {
			// The headers and a first byte, then silence.
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
		}
		select { // /v1/revocations: silence before the headers
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	v := s.verifier(t, nil)
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	f := &Follower{Verifier: v, BaseURL: srv.URL, Client: srv.Client(), Roots: roots, StallTimeout: 100 * time.Millisecond}
	for _, sync := range []struct {
		name string
		do   func(context.Context) (bool, error)
	}{{"bundle (body stalls)", f.SyncBundle}, {"revocations (headers stall)", f.SyncRevocations}} {
		errc := make(chan error, 1)
		go func() { _, err := sync.do(context.Background()); errc <- err }()
		select {
		case err := <-errc:
			if !errors.Is(err, ErrFeedHTTP) || !transient(err) || !strings.Contains(err.Error(), "nothing received") {
				t.Fatalf("%s: %v, want a transient E_FEED_HTTP saying nothing was received", sync.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still waiting after 10s on an RA that stalled (StallTimeout 100ms)", sync.name)
		}
	}
	// Counted by readiness like any failure that may pass: past Tolerate
	// in a row, the verifier is not ready.
	f.Tolerate, f.RetryDelay, f.BundleInterval = 1, time.Millisecond, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	waitFor(t, func() bool { return strings.Contains(strings.Join(v.NotReady(), "; "), "revocation feed: ") })
	cancel()
	<-done
}

// TestFollowerRenewsCRLs: a following Verifier replaces the CRLs it holds
// as the CA reissues them (SyncCRLs, from the repository), so a trust
// directory's 24-hour ORL does not make it refuse every request STALE a
// day after it started; a CRL it cannot verify is refused and changes
// nothing, an unchanged one costs a 304, and a newer CRL replaces the
// older in memory instead of piling up beside it.
func TestFollowerRenewsCRLs(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	orl1 := s.pki.crl(t, testNow.Add(-23*time.Hour), testNow.Add(time.Hour))
	v := s.verifier(t, func(o *Options) { o.Clock = clock; o.CRLs = [][]byte{orl1} })
	ra := &fakeRA{t: t, s: s, news: make(chan struct{}, 4), crls: map[string][]byte{}}
	ra.sign(s.bundle)
	srv := httptest.NewServer(ra)
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.root)
	f := &Follower{Verifier: v, BaseURL: srv.URL, Client: srv.Client(), Roots: roots}
	ctx := context.Background()
	ctr := uint64(0)
	verify := func() Decision {
		ctr++
		return v.Verify(sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false), clock())
	}

	now.Store(testNow.Add(2 * time.Hour).UnixNano()) // past orl1's nextUpdate
	if d := verify(); d.Code != CodeSTALE {
		t.Fatalf("control, the held ORL expired: %s %s, want STALE", d.Code, d.Reason)
	}
	// Nothing published yet: nothing changes, no error.
	if added, err := f.SyncCRLs(ctx); err != nil || added {
		t.Fatalf("no CRL published: added %v, %v", added, err)
	}
	// A CRL the Verifier cannot verify (signed by another CA) is refused.
	other := newTestPKI(t, testNow)
	ra.mu.Lock()
	ra.crls["/repo/crl/orl.crl"] = other.crl(t, testNow.Add(time.Hour), testNow.Add(25*time.Hour))
	ra.mu.Unlock()
	if added, err := f.SyncCRLs(ctx); err == nil || added {
		t.Fatalf("a CRL of another CA: added %v, %v; want refused", added, err)
	}
	// The CA's next ORL is taken.
	orl2 := s.pki.crl(t, testNow.Add(time.Hour), testNow.Add(25*time.Hour))
	ra.mu.Lock()
	ra.crls["/repo/crl/orl.crl"] = orl2
	ra.mu.Unlock()
	if added, err := f.SyncCRLs(ctx); err != nil || !added {
		t.Fatalf("the next ORL: added %v, %v", added, err)
	}
	if d := verify(); !d.Accepted() {
		t.Fatalf("after the next ORL: %s %s, want accept", d.Code, d.Reason)
	}
	v.mu.Lock()
	held := len(v.crlDERs)
	v.mu.Unlock()
	if held != 1 {
		t.Fatalf("%d CRLs held after the ORL was replaced, want 1", held)
	}
	// Unchanged: asked with its ETag, 304, nothing added.
	if added, err := f.SyncCRLs(ctx); err != nil || added {
		t.Fatalf("unchanged ORL: added %v, %v", added, err)
	}
	ra.mu.Lock()
	inm := ra.crlINM[len(ra.crlINM)-1]
	ra.mu.Unlock()
	if inm == "" {
		t.Fatal("the second fetch of an unchanged ORL sent no If-None-Match")
	}
	// An older ORL served again (a repository behind) changes nothing.
	if err := v.AddCRL(orl1); err != nil {
		t.Fatal(err)
	}
	if d := verify(); !d.Accepted() {
		t.Fatalf("after the older ORL was added again: %s %s, want accept", d.Code, d.Reason)
	}
}
