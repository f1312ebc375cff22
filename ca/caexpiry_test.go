package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestIssueUnderAnExpiredIssuingCA: once the Issuing OCA certificate has
// expired nothing can be issued under it, and Issue says so
// (ErrCAExpired, naming the date and the remedy) before any write, rather
// than refusing the requester's validity as a bad request. Until then it
// issues, the last certificates cut to the CA's notAfter.
func TestIssueUnderAnExpiredIssuingCA(t *testing.T) {
	t.Parallel()
	c, st, clk := expiringCA(t, InitOptions{IssuingValidity: 400 * 24 * time.Hour})
	ctx := context.Background()
	clk.Advance(c.Issuing().NotAfter.Sub(clk.Now()) - 48*time.Hour)
	_, csr := newCSR(t, nil)
	cert, _, err := c.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	if err != nil || cert.NotAfter.After(c.Issuing().NotAfter) {
		t.Fatalf("Issue two days before the Issuing OCA expires = %v; want a certificate cut to its notAfter", err)
	}
	intents0, certs0, audit0 := counts(t, st)
	clk.Advance(72 * time.Hour)
	_, csr = newCSR(t, nil)
	_, _, err = c.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	if !errors.Is(err, ErrCAExpired) {
		t.Fatalf("Issue after the Issuing OCA expired = %v, want ErrCAExpired", err)
	}
	if intents, certs, audit := counts(t, st); intents != intents0 || certs != certs0 || audit != audit0 {
		t.Errorf("the refusal wrote: intents %d->%d, certificates %d->%d, audit %d->%d", intents0, intents, certs0, certs, audit0, audit)
	}
}

// TestIssueUnderAnExpiredRoot: once the Root OCA has expired (the Issuing
// OCA, which cannot outlive it, with it) Issue fails ErrCAExpired naming
// the Root and the remedy, a new Root OCA for every relying party, not a
// new Issuing OCA, which would chain to the expired Root.
func TestIssueUnderAnExpiredRoot(t *testing.T) {
	t.Parallel()
	c, _, clk := expiringCA(t, InitOptions{RootValidity: 400 * 24 * time.Hour, IssuingValidity: 300 * 24 * time.Hour})
	ctx := context.Background()
	clk.Advance(c.Root().NotAfter.Sub(clk.Now()) + time.Hour)
	_, csr := newCSR(t, nil)
	_, _, err := c.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	if !errors.Is(err, ErrCAExpired) || !strings.Contains(err.Error(), "Root OCA certificate expired") || !strings.Contains(err.Error(), "new Root OCA") {
		t.Fatalf("Issue after the Root OCA expired = %v, want ErrCAExpired naming the Root and a new Root OCA", err)
	}
}

// expiringCA is a CA made at testStart with opts on a bbolt store, its
// clock a fakeClock to advance to an expiry; closed when the test ends.
func expiringCA(t *testing.T, opts InitOptions) (*CA, store.Store, *fakeClock) {
	t.Helper()
	dir := t.TempDir()
	st := openBolt(t, dir)
	clk := &fakeClock{t: testStart}
	cfg := Config{Dir: dir, Passphrase: []byte("correct horse battery staple"), Clock: clk.Now}
	ctx := context.Background()
	if err := Init(ctx, st, cfg, opts); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, st, clk
}

// TestARLUnderAnExpiredRoot: the ARL is signed by the Root OCA, so the
// Root's expiry rule (the one Issue applies, c.rootInForce) holds for it:
// an ARL is never signed, at the ceremony (IssueARL) or by the online
// refresh (RefreshCRLs), by a Root whose certificate has expired; the
// refusal is ErrCAExpired marked ErrRootExpired, saying a new Root OCA is
// needed, and writes nothing. Before then an ARL's nextUpdate never
// passes the Root's notAfter: a lifetime that would is cut to it (as a
// certificate is cut to its issuer's notAfter). A revocation of an
// issuing CA is still recorded, its ARL owed (crlAfterRevoking).
func TestARLUnderAnExpiredRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, st, clk := expiringCA(t, InitOptions{RootValidity: 400 * 24 * time.Hour, IssuingValidity: 300 * 24 * time.Hour})
	notAfter := c.Root().NotAfter

	// Ten days before the Root expires: a 30-day ARL is cut to the Root's
	// notAfter, and still verifies under it.
	clk.Advance(notAfter.Sub(clk.Now()) - 10*24*time.Hour)
	crl, err := c.IssueARL(ctx, 30*24*time.Hour)
	if err != nil {
		t.Fatalf("IssueARL ten days before the Root expires: %v", err)
	}
	if !crl.NextUpdate.Equal(notAfter) {
		t.Errorf("ARL nextUpdate %s, want it cut to the Root's notAfter %s", crl.NextUpdate, notAfter)
	}
	if parsed, err := x509.ParseRevocationList(crl.DER); err != nil || parsed.CheckSignatureFrom(c.Root()) != nil || !parsed.NextUpdate.Equal(notAfter) {
		t.Errorf("the cut ARL does not parse, verify or carry nextUpdate %s: %v", notAfter, err)
	}

	// An hour after it expired: refused, saying so, nothing written.
	clk.Advance(10*24*time.Hour + time.Hour)
	_, _, audit0 := counts(t, st)
	_, err = c.IssueARL(ctx, 0)
	if !errors.Is(err, ErrCAExpired) || !errors.Is(err, ErrRootExpired) || !strings.Contains(err.Error(), "new Root OCA") {
		t.Errorf("IssueARL after the Root expired = %v, want ErrCAExpired marked ErrRootExpired naming a new Root OCA", err)
	}
	if _, _, audit := counts(t, st); audit != audit0 || storedCRL(t, st, ARL).Number != crl.Number {
		t.Errorf("the refusal wrote: audit %d->%d, ARL %d->%d", audit0, audit, crl.Number, storedCRL(t, st, ARL).Number)
	}
	// The online refresh says the same (and has refreshed the ORL first).
	orl0 := storedCRL(t, st, ORL).Number
	if err := c.RefreshCRLs(ctx); !errors.Is(err, ErrRootExpired) {
		t.Errorf("RefreshCRLs after the Root expired = %v, want ErrRootExpired", err)
	}
	if storedCRL(t, st, ARL).Number != crl.Number || storedCRL(t, st, ORL).Number == orl0 {
		t.Errorf("RefreshCRLs after the Root expired: ARL %d->%d (want unchanged), ORL %d->%d (want reissued)",
			crl.Number, storedCRL(t, st, ARL).Number, orl0, storedCRL(t, st, ORL).Number)
	}
	// Revoking the Issuing OCA is still recorded; its ARL is owed.
	serial := SerialHex(c.Issuing().SerialNumber)
	if revs, err := c.Revoke(ctx, []string{serial}, 1, time.Time{}, store.AuditEntry{Actor: "test", Action: "revoke", Result: "ok"}); err != nil || len(revs) != 1 {
		t.Errorf("Revoke of the Issuing OCA after the Root expired = %v, %v; want it recorded", revs, err)
	}
	if s, err := c.CRLStatus(ctx, ARL); err != nil || !s.Owed || s.State != ARLExpired {
		t.Errorf("CRLStatus(arl) = %+v, %v; want expired and owed", s, err)
	}
}
