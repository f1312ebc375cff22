package ra

import (
	"context"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/ownpki"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier"
)

// withSigner gives e's service a system signer issued by e's CA.
func (e *env) withSigner() *ownpki.SystemSigner {
	e.t.Helper()
	sig, err := ownpki.OpenSystemSigner(context.Background(), filepath.Join(e.dir, "ra"), e.keys, e.ca, ownpki.DefaultSystemID, e.clock.Now(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc.useSigner(sig)
	return sig
}

func (e *env) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(e.ca.Root())
	return p
}

func TestExportBundle(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()

	// Without a signer the bundle is refused, coded.
	_, err := s.svc.ExportBundle(ctx, s.admin)
	s.wantRefusal(err, ownpki.ErrSigner, ActReadBundle)
	s.withSigner()

	// A declared event is not in the bundle; an approved one is.
	e := s.declare(s.liaison, nil, nil)
	data, err := s.svc.ExportBundle(ctx, s.admin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(data, s.roots(), s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.SoLREvents) != 0 || len(b.Revoked) != 0 {
		t.Fatalf("declared-only bundle has events %v revoked %v", b.SoLREvents, b.Revoked)
	}
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
		t.Fatal(err)
	}
	adt := adtJSON(s.userSC, s.userIS, `{"srv":"1.6","period":"24h","warning":100,"quarantine":500}`)
	sig, err := adtfile.Sign(s.signerOf("aro-srp"), adt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SubmitADT(ctx, s.aroSR, adt, sig); err != nil {
		t.Fatal(err)
	}
	s.clock.Set(ratest.Start.Add(time.Minute))

	// A verifier credential reads the bundle and nothing else.
	ver := s.officer(s.admin, "verifier-1", KindVerifier, eui64.ID{})
	data, err = s.svc.ExportBundle(ctx, ver)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.ListParties(ctx, ver)
	s.wantRefusal(err, ErrForbidden, ActReadParty)

	b, err = bundle.Open(data, s.roots(), s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !b.IssuedAt.Equal(s.clock.Now()) || time.Duration(b.MaxAge) != DefaultBundleMaxAge || b.RevocationSeq != s.revocationSeq() {
		t.Fatalf("header: issued %s max_age %s seq %d", b.IssuedAt, time.Duration(b.MaxAge), b.RevocationSeq)
	}
	if len(b.SoLREvents) != 1 {
		t.Fatalf("events %+v", b.SoLREvents)
	}
	ev := b.SoLREvents[0]
	if ev.ID != e.ID || ev.State != bundle.EventActive || ev.SRPUser != s.userSC || ev.ApprovedBy != "approver" ||
		!slices.Equal(ev.FailedSupplierUsers, []eui64.ID{s.userIS}) || !ev.ActiveAt(s.clock.Now()) {
		t.Fatalf("event %+v", ev)
	}
	if len(b.Revoked) != 1 || b.Revoked[0].Serial != s.isSerial || b.Revoked[0].Reason != reasonCessation ||
		b.Revoked[0].Issuer != s.ca.Issuing().Subject.String() {
		t.Fatalf("revoked %+v", b.Revoked)
	}
	// One party-wide record for the failed Supplier, covering its
	// certificate, in the bundle and on every feed page.
	isCert := s.certStatus(s.isSerial)
	if len(b.RevokedParties) != 1 || b.RevokedParties[0].Party != s.supplier || b.RevokedParties[0].Reason != reasonCessation ||
		!b.RevokedParties[0].RevokedAt.Equal(b.Revoked[0].RevokedAt) || !isCert.NotBefore.Before(b.RevokedParties[0].IssuedBefore) {
		t.Fatalf("revoked_parties %+v (revoked %+v, certificate notBefore %s)", b.RevokedParties, b.Revoked, isCert.NotBefore)
	}
	for _, since := range []uint64{0, b.RevocationSeq} {
		env, err := s.svc.Revocations(ctx, ver, since, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := bundle.OpenFeedPage(env, s.roots(), s.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.RevokedParties, b.RevokedParties) {
			t.Fatalf("feed since %d: revoked_parties %+v, want %+v", since, p.RevokedParties, b.RevokedParties)
		}
	}
	// The repository holds the revoked signer too (a verifier must say REVOKED).
	serials := map[string]bool{}
	for _, der := range b.Certificates {
		c, err := parseDER(der)
		if err != nil {
			t.Fatal(err)
		}
		serials[fmt.Sprintf("%x", c.SerialNumber)] = true
	}
	if !serials[s.isSerial] || !serials[s.scSerial] || len(serials) != 2 {
		t.Fatalf("certificate repository %v", serials)
	}
	if !slices.Equal(b.AllowLists[role.SoLRContingency], []string{"1.6"}) {
		t.Fatalf("allow-lists %v", b.AllowLists)
	}
	if len(b.ADT) != 1 || b.ADT[0].SRVs["1.6"].Quarantine != 500 || b.ADT[0].SupplierUser != s.userIS {
		t.Fatalf("adt %+v", b.ADT)
	}
	if len(b.Devices) != 3 {
		t.Fatalf("devices %+v", b.Devices)
	}
	for _, p := range b.Parties {
		if p.ID == s.supplier && p.Status != bundle.StatusFailed {
			t.Fatalf("failed party is %s", p.Status)
		}
	}
	// A bundle does not open against another root.
	foreign := x509.NewCertPool()
	foreign.AddCert(s.svc.Access().Root()) // a real root, but not the SMKI one
	if _, err := bundle.Open(data, foreign, s.clock.Now()); err == nil {
		t.Fatal("bundle opened against a foreign root")
	}
	// Alert routing from the exported bundle reaches the SRP (R7).
	v, err := verifier.New(verifier.Options{Roots: []*x509.Certificate{s.ca.Root()}, Intermediates: []*x509.Certificate{s.ca.Issuing()},
		Bundle: b, Clock: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if to, why := v.RouteAlert(s.devA, 0x8F0A, s.clock.Now()); !slices.Equal(to, []eui64.ID{s.userSC}) {
		t.Fatalf("alert routed to %v (%s)", to, why)
	}
}
