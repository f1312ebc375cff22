package raserver

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/repo"
	"github.com/smki/smki/verifier"
)

// TestCompactBundleFollower: a follower that asks for compact bundles
// (GET /v1/bundle?certificates=omit) gets one without certificates, while
// the default still embeds them; its Verifier looks a signer up in the
// RA's repository at its first request (accepted), refuses it REVOKED once
// the feed revokes it, refuses CERT a serial the repository does not have,
// and a restarted Verifier looks it up again.
func TestCompactBundleFollower(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newLatencyRigWith(t, ctx, 1, 2, func(bd *bundle.Bundle) {
		is := bd.Users[0]
		bd.Certificates = nil // the rig's own bundle, compact too
		bd.Parties = []bundle.Party{{ID: is.PartyID, Name: "Supplier A", Status: bundle.StatusActive}}
		bd.Devices = []bundle.Device{{Device: cutOffDevice, SupplierUser: is.UserID, SMETS: 2}}
	})
	f := r.f
	// The repository, as smki serve mounts it beside the API.
	h, err := repo.New(repo.Config{Store: f.st, Root: f.ca.Root(), Issuing: f.ca.Issuing(), Rate: -1, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(repo.Prefix, h)
	rs := httptest.NewServer(mux)
	t.Cleanup(rs.Close)

	fol := r.probes[0].f
	fol.Compact, fol.RepositoryURL = true, rs.URL
	build := func() *verifier.Verifier {
		t.Helper()
		v, err := verifier.New(verifier.Options{Roots: []*x509.Certificate{f.ca.Root()}, Intermediates: []*x509.Certificate{f.ca.Issuing()},
			Bundle: r.probes[0].f.Verifier.Bundle(), Clock: f.clock.Now, Source: fol})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := build()
	fol.Verifier = v

	if d := v.Verify(cutOffRequest(t, r, 0, 1), f.clock.Now()); !d.Accepted() {
		t.Fatalf("first request of a signer the bundle does not carry: %+v", d)
	}
	if d := v.Verify(cutOffRequest(t, r, 0, 2), f.clock.Now()); !d.Accepted() || v.CertificateFetches() != 1 {
		t.Fatalf("second request: %+v after %d lookups, want accepted after 1", d, v.CertificateFetches())
	}
	unknown := bytes.Replace(cutOffRequest(t, r, 1, 3), []byte(">"+r.certs[1].cert.SerialNumber.String()+"<"), []byte(">77<"), 1)
	if d := v.Verify(unknown, f.clock.Now()); d.Code != verifier.CodeCERT || !strings.Contains(d.Reason, "not found") {
		t.Fatalf("a serial the repository lacks: %+v, want CERT", d)
	}

	// The RA's bundle in both forms.
	f.clock.Advance(time.Minute)
	if ok, err := fol.SyncBundle(ctx); !ok || err != nil {
		t.Fatalf("compact SyncBundle: %v, %v", ok, err)
	}
	if n := len(v.Bundle().Certificates); n != 0 || len(v.Bundle().Users) == 0 {
		t.Fatalf("compact bundle: %d certificates, %d users; want none and some", n, len(v.Bundle().Users))
	}
	embedded := *fol
	embedded.Compact = false
	if b, err := embedded.FetchBundle(ctx, f.clock.Now()); err != nil || len(b.Certificates) < len(r.certs) {
		t.Fatalf("default bundle: %v, want every certificate embedded", err)
	}
	resp, err := fol.Client.Get(r.ts.URL + "/v1/bundle?certificates=some")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("certificates=some: %d, want 400", resp.StatusCode)
	}

	// Revoked through the feed: refused, though its certificate is cached.
	rev := f.revoke(t, r.certs[0].serial)
	for v.RevocationSeq() < rev.Seq {
		if _, err := fol.SyncRevocations(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d := v.Verify(cutOffRequest(t, r, 0, 4), f.clock.Now()); d.Code != verifier.CodeREVOKED {
		t.Fatalf("after the revocation: %+v, want REVOKED", d)
	}
	// A restart looks the other signer up afresh and checks it the same
	// way (the RA's bundle does not register the device: E4, not CERT).
	restarted := build()
	if d := restarted.Verify(cutOffRequest(t, r, 1, 5), f.clock.Now()); d.Code == verifier.CodeCERT || restarted.CertificateFetches() != 1 {
		t.Fatalf("after a restart: %+v after %d lookups", d, restarted.CertificateFetches())
	}
}
