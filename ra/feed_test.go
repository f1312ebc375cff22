package ra

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/publish"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// feedEnv is a scenario whose Service publishes the feed with a real
// system signer certified by the scenario's CA.
type feedEnv struct {
	*scenario
	roots *x509.CertPool // the SMKI root
}

func newFeedEnv(t testing.TB) *feedEnv {
	t.Helper()
	s := newScenario(t)
	sig, err := ownpki.OpenSystemSigner(context.Background(), filepath.Join(s.dir, "system"), s.keys, s.ca, ownpki.DefaultSystemID, s.clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.svc.useSigner(sig)
	roots := x509.NewCertPool()
	roots.AddCert(s.ca.Root())
	return &feedEnv{scenario: s, roots: roots}
}

// feedCert is one Organisation Certificate of the scenario's IS user.
type feedCert struct {
	serial string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
}

// issue enrols n xml-signing certificates for the IS user.
func (f *feedEnv) issue(t testing.TB, n int) []feedCert {
	t.Helper()
	out := make([]feedCert, 0, n)
	for range n {
		k := ratest.NewKey(t)
		is, err := f.svc.Enrol(context.Background(), f.aroSup, EnrolRequest{UserID: f.userIS, Profile: ca.XMLSigning,
			CSR: ratest.CSR(t, k, f.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, feedCert{serial: is.Cert.Serial, cert: ratest.ParseCert(t, is.CertPEM), key: k})
	}
	return out
}

// revoke revokes one certificate through the Service (the path the API
// takes) and returns its revocation record.
func (f *feedEnv) revoke(t testing.TB, serial string) Revocation {
	t.Helper()
	res, err := f.svc.Revoke(context.Background(), f.aroSup, RevokeRequest{Serial: serial, Reason: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Revocations) != 1 {
		t.Fatalf("revoke %s: %d revocations", serial, len(res.Revocations))
	}
	return res.Revocations[0]
}

// open opens a feed envelope against the SMKI root at the test clock.
func (f *feedEnv) open(t testing.TB, env []byte) *bundle.FeedPage {
	t.Helper()
	p, err := bundle.OpenFeedPage(env, f.roots, f.clock.Now())
	if err != nil {
		t.Fatalf("open feed page: %v", err)
	}
	return p
}

func TestFeedPaging(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	f.svc.feed.PageSize = 2
	ctx := context.Background()
	certs := f.issue(t, 5)
	var revs []Revocation
	for _, c := range certs {
		revs = append(revs, f.revoke(t, c.serial))
	}
	issuingDN := f.ca.Issuing().Subject.String()

	// since -> the seqs and serials the page must hold.
	tests := []struct {
		since   uint64
		wantSeq uint64
		want    []Revocation
	}{
		{0, revs[1].Seq, revs[0:2]},
		{revs[1].Seq, revs[3].Seq, revs[2:4]},
		{revs[3].Seq, revs[4].Seq, revs[4:5]},
		{revs[4].Seq, revs[4].Seq, nil}, // current: empty page at once with wait 0
	}
	for _, tt := range tests {
		env, err := f.svc.Revocations(ctx, f.admin, tt.since, 0)
		if err != nil {
			t.Fatalf("since %d: %v", tt.since, err)
		}
		p := f.open(t, env)
		if p.Seq != tt.wantSeq || len(p.Revoked) != len(tt.want) {
			t.Fatalf("since %d: seq %d with %d entries, want seq %d with %d", tt.since, p.Seq, len(p.Revoked), tt.wantSeq, len(tt.want))
		}
		if !p.IssuedAt.Equal(f.clock.Now()) {
			t.Errorf("since %d: issued_at %s, want the service clock %s", tt.since, p.IssuedAt, f.clock.Now())
		}
		for i, r := range p.Revoked {
			w := tt.want[i]
			if r.Serial != w.Serial || r.Issuer != issuingDN || r.Reason != 1 || !r.RevokedAt.Equal(w.RevokedAt) {
				t.Errorf("since %d entry %d = %+v, want serial %s issuer %q reason 1 at %s", tt.since, i, r, w.Serial, issuingDN, w.RevokedAt)
			}
		}
	}

	// A follower ahead of the RA is refused with a stable code, and the
	// bad request writes nothing.
	before := len(ratest.AuditTail(f.t, f.st, 1<<20))
	_, err := f.svc.Revocations(ctx, f.admin, revs[4].Seq+1, 0)
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("since beyond current: %v, want %v", err, ErrBadRequest)
	}
	if n := len(ratest.AuditTail(f.t, f.st, 1<<20)); n != before {
		t.Errorf("audit grew by %d, want 0", n-before)
	}
}

// TestFeedPageBytes: without an entry cap a page holds as many entries as
// fit its byte budget (at least one), and a follower reading page after
// page gets every revocation once, in order.
func TestFeedPageBytes(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	ctx := context.Background()
	certs := f.issue(t, 5)
	var revs []Revocation
	for _, c := range certs {
		revs = append(revs, f.revoke(t, c.serial))
	}
	entry := publish.FeedEntryOverhead + len(f.ca.Issuing().Subject.String()) + len(revs[0].Serial)
	for _, tt := range []struct {
		budget int
		sizes  []int
	}{
		{1, []int{1, 1, 1, 1, 1}}, // below one entry: still one per page
		{2 * entry, []int{2, 2, 1}},
		{3*entry - 1, []int{2, 2, 1}},
		{DefaultFeedPageBytes, []int{5}},
	} {
		f.svc.feed.PageBytes = tt.budget
		var sizes []int
		var got []string
		for since := uint64(0); since < revs[4].Seq; {
			env, err := f.svc.Revocations(ctx, f.admin, since, 0)
			if err != nil {
				t.Fatal(err)
			}
			p := f.open(t, env)
			sizes = append(sizes, len(p.Revoked))
			for _, r := range p.Revoked {
				got = append(got, r.Serial)
			}
			since = p.Seq
		}
		var want []string
		for _, r := range revs {
			want = append(want, r.Serial)
		}
		if !slices.Equal(sizes, tt.sizes) || !slices.Equal(got, want) {
			t.Errorf("budget %d: pages of %v with %v, want pages of %v with %v", tt.budget, sizes, got, tt.sizes, want)
		}
	}
}

func TestFeedArguments(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		wait time.Duration
		want error
	}{
		{"negative wait", -time.Second, ErrBadRequest},
		{"wait over the cap", MaxFeedWait + time.Second, ErrBadRequest},
	} {
		if _, err := f.svc.Revocations(ctx, f.admin, 0, tt.wait); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	removed := f.officer(f.admin, "gone", KindRAApprover, eui64.ID{})
	if _, err := f.svc.RemoveOfficer(ctx, f.admin, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Revocations(ctx, removed, 0, 0); !errors.Is(err, ErrOfficerInactive) {
		t.Errorf("removed officer: %v, want %v", err, ErrOfficerInactive)
	}
	f.svc.useSigner(nil)
	if _, err := f.svc.Revocations(ctx, f.admin, 0, 0); !errors.Is(err, ownpki.ErrSigner) {
		t.Errorf("no signer: %v, want %v", err, ownpki.ErrSigner)
	}
}

// TestFeedSignature: the envelope opens against the SMKI root and against
// no other root, and is never accepted as a bundle.
func TestFeedSignature(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	other := x509.NewCertPool() // an unrelated root
	other.AddCert(otherRoot(t))
	f.revoke(t, f.issue(t, 1)[0].serial)
	env, err := f.svc.Revocations(context.Background(), f.admin, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.open(t, env); len(p.Revoked) != 1 {
		t.Fatalf("page has %d entries", len(p.Revoked))
	}
	if _, err := bundle.OpenFeedPage(env, other, f.clock.Now()); !errors.Is(err, bundle.ErrEnvelopeSigner) {
		t.Errorf("other root: %v, want %v", err, bundle.ErrEnvelopeSigner)
	}
	if _, err := bundle.Open(env, f.roots, f.clock.Now()); !errors.Is(err, bundle.ErrEnvelopeFormat) {
		t.Errorf("as a bundle: %v, want %v", err, bundle.ErrEnvelopeFormat)
	}
	tampered := []byte(strings.Replace(string(env), `"payload":"`, `"payload":"ey`, 1))
	if _, err := bundle.OpenFeedPage(tampered, f.roots, f.clock.Now()); err == nil {
		t.Error("tampered payload opened")
	}
}

func otherRoot(t testing.TB) *x509.Certificate {
	t.Helper()
	k := ratest.NewKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Other Root", OrganizationalUnit: []string{"00"}},
		NotBefore: ratest.Start.AddDate(-1, 0, 0), NotAfter: ratest.Start.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitHeld blocks until n feed requests are held by the hub.
func waitFeedHeld(t testing.TB, h *feedhub.Hub, n int) {
	t.Helper()
	for i := 0; ; i++ {
		w := h.Held()
		if w >= n {
			return
		}
		if i > 50000 {
			t.Fatalf("%d feed requests held, want %d", w, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

type feedResult struct {
	env []byte
	err error
}

// TestFeedLongPoll: a held request ends with an empty page when its wait
// elapses, and is answered with the new revocation by one through
// Service.Revoke or inside a Service transaction (the broadcast: the store
// poll is off) and by one that bypasses the Service as another instance's
// would (the store poll).
func TestFeedLongPoll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		poll   time.Duration
		revoke func(f *feedEnv, serial string)
	}{
		{"broadcast", time.Hour, func(f *feedEnv, serial string) { f.revoke(t, serial) }},
		{"service transaction", time.Hour, func(f *feedEnv, serial string) {
			// As SoLR approval and the scheduler revoke: ca.RevokeTx inside
			// a Service transaction.
			err := f.svc.st.Update(context.Background(), func(tx store.Tx) error {
				_, err := f.ca.RevokeTx(tx, []string{serial}, 5, time.Time{})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}},
		{"other instance", 5 * time.Millisecond, func(f *feedEnv, serial string) {
			if _, err := f.ca.Revoke(context.Background(), []string{serial}, 4, time.Time{}); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFeedEnv(t)
			f.svc.feed.Poll = tt.poll
			ctx := context.Background()
			c := f.issue(t, 2)
			first := f.revoke(t, c[0].serial)

			env, err := f.svc.Revocations(ctx, f.admin, first.Seq, 30*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if p := f.open(t, env); p.Seq != first.Seq || len(p.Revoked) != 0 {
				t.Fatalf("elapsed wait: seq %d with %d entries, want an empty page at %d", p.Seq, len(p.Revoked), first.Seq)
			}

			// From here on a wait never elapses: only a wake-up can answer.
			f.svc.feed.NewTimer = func(time.Duration) *time.Timer { return time.NewTimer(24 * time.Hour) }
			done := make(chan feedResult, 1)
			go func() {
				env, err := f.svc.Revocations(ctx, f.admin, first.Seq, MaxFeedWait)
				done <- feedResult{env, err}
			}()
			waitFeedHeld(t, &f.svc.feed, 1)
			tt.revoke(f, c[1].serial)
			var r feedResult
			select {
			case r = <-done:
			case <-time.After(20 * time.Second): // a hang guard, not a speed check
				t.Fatal("the held request was never woken")
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			p := f.open(t, r.env)
			if p.Seq != first.Seq+1 || len(p.Revoked) != 1 || p.Revoked[0].Serial != c[1].serial {
				t.Fatalf("page seq %d %+v, want seq %d with %s", p.Seq, p.Revoked, first.Seq+1, c[1].serial)
			}
		})
	}
}

// TestFeedDrain: DrainFeed answers a held request at once with an empty
// page, and later requests are not held.
func TestFeedDrain(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	f.svc.feed.NewTimer = func(time.Duration) *time.Timer { return time.NewTimer(24 * time.Hour) }
	ctx := context.Background()
	done := make(chan feedResult, 2)
	go func() {
		env, err := f.svc.Revocations(ctx, f.admin, 0, MaxFeedWait)
		done <- feedResult{env, err}
	}()
	waitFeedHeld(t, &f.svc.feed, 1)
	f.svc.DrainFeed()
	f.svc.DrainFeed() // idempotent
	go func() {
		env, err := f.svc.Revocations(ctx, f.admin, 0, MaxFeedWait)
		done <- feedResult{env, err}
	}()
	for range 2 {
		var r feedResult
		select {
		case r = <-done:
		case <-time.After(20 * time.Second): // a hang guard, not a speed check
			t.Fatal("a request was held after DrainFeed")
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		if p := f.open(t, r.env); p.Seq != 0 || len(p.Revoked) != 0 {
			t.Fatalf("drained: seq %d with %d entries, want an empty page at 0", p.Seq, len(p.Revoked))
		}
	}
}

// TestFeedPartyNewsFirst: a follower behind on party status gets the
// party part alone first (no entries, seq = since), then the entries when
// it asks with the new party_seq; a follower not sending parties= gets the
// entries at once.
func TestFeedPartyNewsFirst(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	ctx := context.Background()
	rev := f.revoke(t, f.issue(t, 1)[0].serial)
	if _, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "suspended"); err != nil {
		t.Fatal(err)
	}
	zero, one := uint64(0), uint64(1)
	for _, tt := range []struct {
		name    string
		parties *uint64
		seq     uint64
		entries int
		pseq    uint64
	}{
		{"behind on party status", &zero, 0, 0, 1},
		{"current on party status", &one, rev.Seq, 1, 1},
		{"no parties=", nil, rev.Seq, 1, 1},
	} {
		env, err := f.svc.Feed(ctx, f.admin, FeedQuery{Since: 0, Parties: tt.parties})
		if err != nil {
			t.Fatal(err)
		}
		p := f.open(t, env)
		if p.Seq != tt.seq || len(p.Revoked) != tt.entries || p.PartySeq != tt.pseq || len(p.Parties) != 1 {
			t.Errorf("%s: seq %d, %d entries, party_seq %d, parties %v; want seq %d, %d entries, party_seq %d",
				tt.name, p.Seq, len(p.Revoked), p.PartySeq, p.Parties, tt.seq, tt.entries, tt.pseq)
		}
	}
}

// TestFeedPartyNewsSinceBeyondCurrent: a since beyond the store's
// revocation sequence is refused (ErrBadRequest) also for a follower
// behind on party status, which is otherwise answered from the hub's
// party news without a store read: no page is signed for a sequence the
// RA never reached (an RA restored from an older backup).
func TestFeedPartyNewsSinceBeyondCurrent(t *testing.T) {
	t.Parallel()
	f := newFeedEnv(t)
	ctx := context.Background()
	if _, err := f.svc.SetPartyStatus(ctx, f.admin, f.supplier, "suspended"); err != nil {
		t.Fatal(err)
	}
	zero := uint64(0)
	for _, q := range []FeedQuery{{Since: 1000}, {Since: 1000, Parties: &zero}} {
		env, err := f.svc.Feed(ctx, f.admin, q)
		if err == nil {
			p := f.open(t, env)
			t.Fatalf("since 1000 (store at 0), parties=%v: a signed page seq %d, want ErrBadRequest", q.Parties != nil, p.Seq)
		}
		if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("since 1000, parties=%v: %v, want ErrBadRequest", q.Parties != nil, err)
		}
	}
	// Within the store's sequence, the party news still comes first.
	env, err := f.svc.Feed(ctx, f.admin, FeedQuery{Since: 0, Parties: &zero})
	if err != nil {
		t.Fatal(err)
	}
	if p := f.open(t, env); p.PartySeq == 0 || len(p.Parties) == 0 {
		t.Errorf("since 0, parties=0: party_seq %d with %d parties, want the suspension", p.PartySeq, len(p.Parties))
	}
}
