package ca

import (
	"context"
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
