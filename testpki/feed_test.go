package testpki_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/testpki"
	"github.com/smki/smki/verifier"
)

// TestFeedPageRevokesLive: the signed feed page a build writes is a page of
// the RA's revocation feed as a verifier gets it live: it opens with
// bundle.OpenFeedPage against the trust directory's root, signed by the
// RA's bundle signer (ra/bundle-cert.pem), numbered after the bundle; and
// a verifier loaded as cases.json says, that has verified every case in
// order, then applies it (Verifier.AddRevocations) gives every case with
// after_feed that verdict, different from its want. The cases with
// after_feed are exactly those of the signer the page revokes.
func TestFeedPageRevokesLive(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	p, err := testpki.Build(context.Background(), testpki.Options{Out: out, At: casesAt})
	if err != nil {
		t.Fatal(err)
	}
	cs := readCases(t, out)
	if cs.Feed == "" {
		t.Fatalf("%s names no feed page", testpki.CasesFile)
	}
	v := verifierFor(t, out, cs)
	bundleSeq := v.RevocationSeq()
	for _, c := range cs.Cases {
		d := v.Verify(readCase(t, out, c), cs.At)
		if got := (testpki.Verdict{Decision: d.Decision, Code: d.Code, Route: d.Route}); got != c.Want {
			t.Fatalf("case %s before the feed page: %+v (%s), want %+v", c.Name, got, d.Reason, c.Want)
		}
	}

	trust, err := verifier.LoadTrust(filepath.Join(out, cs.Trust))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(cs.Feed)))
	if err != nil {
		t.Fatal(err)
	}
	page, err := bundle.OpenFeedPage(data, trust.RootPool(), cs.At)
	if err != nil {
		t.Fatalf("the feed page does not open as the verifier opens the RA's: %v", err)
	}
	if !page.Signer.Equal(p.BundleCert) {
		t.Errorf("feed page signed by %s, want the RA's bundle signer %s", page.Signer.Subject, p.BundleCert.Subject)
	}
	if len(page.Revoked) != 1 || page.Seq != bundleSeq+1 {
		t.Errorf("feed page seq %d with %d entries, want seq %d (the bundle's + 1) with 1", page.Seq, len(page.Revoked), bundleSeq+1)
	}
	if err := v.AddRevocations(page); err != nil {
		t.Fatalf("the verifier refuses the feed page: %v", err)
	}
	if got := v.RevocationSeq(); got != page.Seq {
		t.Errorf("after the page the verifier holds revocation seq %d, want %d", got, page.Seq)
	}

	revoked := p.Users[testpki.FeedRevokedUser]
	if revoked == nil || page.Revoked[0].Serial != revoked.Cert.SerialNumber.Text(16) {
		t.Fatalf("the feed page does not revoke %s", testpki.FeedRevokedUser)
	}
	n := 0
	for _, c := range cs.Cases {
		if (c.AfterFeed != nil) != (c.Signer == testpki.FeedRevokedUser) {
			t.Errorf("case %s signed by %s: after_feed %+v; want it on exactly the cases of %s", c.Name, c.Signer, c.AfterFeed, testpki.FeedRevokedUser)
		}
		if c.AfterFeed == nil {
			continue
		}
		n++
		if *c.AfterFeed == c.Want {
			t.Errorf("case %s: after_feed %+v is its want: the page changes nothing", c.Name, c.Want)
		}
		d := v.Verify(readCase(t, out, c), cs.At)
		if got := (testpki.Verdict{Decision: d.Decision, Code: d.Code, Route: d.Route}); got != *c.AfterFeed {
			t.Errorf("case %s after the feed page: %+v (%s), cases.json after_feed %+v", c.Name, got, d.Reason, *c.AfterFeed)
		}
	}
	if n == 0 {
		t.Error("no case has after_feed")
	}
}

func readCase(t *testing.T, out string, c testpki.Case) []byte {
	t.Helper()
	signed, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(c.File)))
	if err != nil {
		t.Fatalf("case %s: %v", c.Name, err)
	}
	return signed
}
