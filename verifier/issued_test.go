package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/repo"
	"github.com/smki/smki/role"
)

// fakeLister is an IssuedLister over fakeSource: issued is the issuance
// list (number i+1 is issued[i]), answered page serials at a time; down
// makes every read fail.
type fakeLister struct {
	*fakeSource
	mu     sync.Mutex
	issued []*big.Int
	page   int
	down   bool
	reads  atomic.Int64
}

func (l *fakeLister) issue(serials ...*big.Int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.issued = append(l.issued, serials...)
}

func (l *fakeLister) setListDown(down bool) { l.mu.Lock(); l.down = down; l.mu.Unlock() }

// restore cuts the list back to its first n serials, as an RA restored
// from a backup taken then: the numbers after n are given anew.
func (l *fakeLister) restore(n int) { l.mu.Lock(); l.issued = l.issued[:n]; l.mu.Unlock() }

func (l *fakeLister) IssuedSince(ctx context.Context, seq uint64) ([]*big.Int, uint64, uint64, error) {
	l.reads.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return nil, 0, 0, errors.New("connection refused")
	}
	latest := uint64(len(l.issued))
	if seq >= latest {
		return nil, seq, latest, nil
	}
	end := min(seq+uint64(l.page), latest)
	return append([]*big.Int(nil), l.issued[seq:end]...), end, latest, nil
}

// listRead waits until v has read its issuance list to the end.
func listRead(t *testing.T, v *Verifier) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		v.certs.issued.mu.Lock()
		done := v.certs.issued.complete
		v.certs.issued.mu.Unlock()
		if done {
			return
		}
	}
	t.Fatal("the issuance list was not read within 5 s")
}

var x509SerialRE = regexp.MustCompile(`X509SerialNumber>[0-9]+<`)

// withSerial is msg with its KeyInfo X509SerialNumber replaced by serial
// (the signature does not cover KeyInfo; the CERT step comes first).
func withSerial(t *testing.T, msg []byte, serial *big.Int) []byte {
	t.Helper()
	out := x509SerialRE.ReplaceAll(msg, []byte("X509SerialNumber>"+serial.String()+"<"))
	if string(out) == string(msg) {
		t.Fatal("no X509SerialNumber to replace")
	}
	return out
}

// TestIssuanceListSparesLookups: a Verifier whose Source is an
// IssuedLister refuses CERT, without a lookup, a signer whose serial the
// list (read after the request arrived) does not name; so a flood of
// requests naming random serials takes no lookup slot and makes a few
// reads of the list, while a signer issued a moment ago is found on the
// next read and one the list names is looked up as before. A list that
// cannot be read leaves every miss to the lookup, as without it.
func TestIssuanceListSparesLookups(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.bundle.Certificates = nil // compact: nothing embedded
	at := testNow.Add(time.Minute)
	tariff := func(t testing.TB, id identity, ctr uint64) []byte {
		return sign(t, request(t, tmplTariff, userB, devB, ctr), id, false)
	}
	newV := func(t *testing.T, l *fakeLister) *Verifier {
		t.Helper()
		o := s.options(s.bundle)
		o.Source = l
		v, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	others := func(n int) []*big.Int {
		var out []*big.Int
		for range n {
			out = append(out, serial(t))
		}
		return out
	}

	t.Run("not on the list: refused without a lookup", func(t *testing.T) {
		t.Parallel()
		l := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 2} // the repository has it, the list does not
		l.issue(others(5)...)
		v := newV(t, l)
		listRead(t, v)
		d := v.Verify(tariff(t, s.b, 1), at)
		if d.Code != CodeCERT || !strings.Contains(d.Reason, "was issued") {
			t.Fatalf("got %s %q, want CERT: not issued", d.Code, d.Reason)
		}
		if n := l.calls.Load(); n != 0 || v.CertificatesNotIssued() != 1 {
			t.Fatalf("%d lookups, %d refused unlooked, want 0 and 1", n, v.CertificatesNotIssued())
		}
	})
	t.Run("issued after the list was read: found on the next read", func(t *testing.T) {
		t.Parallel()
		l := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 2}
		l.issue(others(3)...)
		v := newV(t, l)
		listRead(t, v)
		reads := l.reads.Load()
		l.issue(s.b.cert.SerialNumber)
		mustAccept(t, v, tariff(t, s.b, 1))
		if l.reads.Load() <= reads || l.calls.Load() != 1 {
			t.Fatalf("%d list reads after the first, %d lookups, want more than %d and 1", l.reads.Load(), l.calls.Load(), reads)
		}
	})
	t.Run("the list cannot be read: looked up as before", func(t *testing.T) {
		t.Parallel()
		l := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 2}
		l.setListDown(true)
		mustAccept(t, newV(t, l), tariff(t, s.b, 1))
		// Read once, then down: a serial it lacks is looked up.
		l2 := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 2}
		v := newV(t, l2)
		listRead(t, v)
		l2.setListDown(true)
		mustAccept(t, v, tariff(t, s.b, 1))
		if n := l.calls.Load() + l2.calls.Load(); n != 2 {
			t.Fatalf("%d lookups, want 2", n)
		}
	})
	t.Run("down at start: read again on a miss, then complete", func(t *testing.T) {
		t.Parallel()
		l := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 1}
		l.issue(others(3)...)
		l.issue(s.b.cert.SerialNumber)
		l.setListDown(true)
		v := newV(t, l)
		v.certs.issued.mu.Lock()
		v.certs.issued.retry = time.Millisecond
		v.certs.issued.mu.Unlock()
		for l.reads.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		l.setListDown(false)
		time.Sleep(5 * time.Millisecond)
		mustAccept(t, v, tariff(t, s.b, 1)) // looked up; the miss starts another read
		listRead(t, v)
		d := v.Verify(withSerial(t, tariff(t, s.b, 2), serial(t)), at)
		if d.Code != CodeCERT || !strings.Contains(d.Reason, "issuance list") {
			t.Fatalf("random serial after the list was read: got %s %q, want CERT from the list", d.Code, d.Reason)
		}
	})
	t.Run("the RA restored from a backup: numbers given anew are read", func(t *testing.T) {
		t.Parallel()
		l := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 2}
		l.issue(others(5)...)
		v := newV(t, l)
		listRead(t, v)
		l.restore(3)
		l.issue(s.b.cert.SerialNumber) // number 4 again: the latest is below what was read
		mustAccept(t, v, tariff(t, s.b, 1))
		// Restored below what was read, then more issued than before:
		// the latest is above, and number 7 is not what was read there.
		c := identity{}
		c.cert, c.key = s.pki.leaf(t, leafSpec{id: userB, roles: []role.UserRole{role.ImportSupplier}})
		l.put(c.cert.SerialNumber, c.cert.Raw)
		l.issue(others(3)...) // 5, 6, 7
		if err := v.certs.issued.catchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
		v.certs.issued.mu.Lock()
		readTo := v.certs.issued.seq
		v.certs.issued.mu.Unlock()
		l.restore(4)
		l.issue(c.cert.SerialNumber) // 5, below the number read to
		l.issue(others(3)...)        // 6, 7, 8
		if readTo != 7 {
			t.Fatalf("read to %d, want 7", readTo)
		}
		mustAccept(t, v, tariff(t, c, 2))
	})
	t.Run("a flood of random serials takes no lookup", func(t *testing.T) {
		t.Parallel()
		l := &fakeLister{fakeSource: newFakeSource(s.b.cert), page: 1000}
		l.issue(s.b.cert.SerialNumber)
		v := newV(t, l)
		listRead(t, v)
		reads := l.reads.Load()
		msg := tariff(t, s.b, 1)
		const flood = 200
		var wg sync.WaitGroup
		start := time.Now()
		for range flood {
			m := withSerial(t, msg, serial(t))
			wg.Go(func() {
				if d := v.Verify(m, at); d.Code != CodeCERT {
					t.Errorf("random serial: got %s %q, want CERT", d.Code, d.Reason)
				}
			})
		}
		mustAccept(t, v, msg) // the real signer, during the flood
		wg.Wait()
		elapsed := time.Since(start)
		if n := l.calls.Load(); n != 1 {
			t.Fatalf("%d lookups, want 1 (the real signer's)", n)
		}
		if got := v.CertificatesNotIssued(); got != flood {
			t.Fatalf("%d refused without a lookup, want %d", got, flood)
		}
		// Reads of the list: one a round, rounds issuedRoundGap apart.
		if n, most := l.reads.Load()-reads, int64(elapsed/issuedRoundGap)+2; n > most {
			t.Fatalf("%d reads of the list for %d requests in %s, want at most %d", n, flood, elapsed, most)
		}
	})
}

// TestFollowerIssuedSince: the Follower reads the RA's /repo/changes (the
// repository's own JSON, repo.Changes), asking for no revocations, and
// refuses a list that goes back or names no serial; an answer other than
// 200 is an error (the lookup then decides).
func TestFollowerIssuedSince(t *testing.T) {
	t.Parallel()
	var answer repo.Changes
	var status atomic.Int32
	status.Store(http.StatusOK)
	var mu sync.Mutex
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/repo/changes" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		gotQuery = r.URL.RawQuery
		body, _ := json.Marshal(answer)
		mu.Unlock()
		w.WriteHeader(int(status.Load()))
		w.Write(body)
	}))
	defer srv.Close()
	f := &Follower{BaseURL: srv.URL, Client: srv.Client()}
	ctx := context.Background()

	answer = repo.Changes{IssuanceSeq: 9, Issued: []repo.Change{{Seq: 5, Serial: "1a"}, {Seq: 6, Serial: "ff01"}}, Revoked: []repo.Change{}}
	serials, last, latest, err := f.IssuedSince(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(serials) != 2 || serials[0].Text(16) != "1a" || serials[1].Text(16) != "ff01" || last != 6 || latest != 9 {
		t.Fatalf("IssuedSince = %v, %d, %d, want [1a ff01], 6, 9", serials, last, latest)
	}
	if want := "issued_after=4&revoked_after=18446744073709551615&limit=1000"; gotQuery != want {
		t.Fatalf("query %q, want %q", gotQuery, want)
	}
	for _, bad := range [][]repo.Change{
		{{Seq: 4, Serial: "1a"}},                         // not after seq
		{{Seq: 5, Serial: "1a"}, {Seq: 5, Serial: "1b"}}, // not increasing
		{{Seq: 5, Serial: "xyz"}},                        // not a serial
		{{Seq: 5, Serial: "0"}},                          // not positive
	} {
		mu.Lock()
		answer.Issued = bad
		mu.Unlock()
		if _, _, _, err := f.IssuedSince(ctx, 4); err == nil {
			t.Errorf("IssuedSince accepted %+v", bad)
		}
	}
	status.Store(http.StatusNotFound) // a mirror, or an RA without the list
	if _, _, _, err := f.IssuedSince(ctx, 4); !errors.Is(err, ErrFeedHTTP) {
		t.Fatalf("404: %v, want ErrFeedHTTP", err)
	}
}
