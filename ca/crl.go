package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smallstep/certificates/cas/apiv1"

	"github.com/smki/smki/store"
)

// CRL names and lifetimes (nextUpdate - thisUpdate). The ORL changes with
// every organisation revocation and is reissued in the revoking transaction,
// so 24 hours only bounds how stale a relying party's copy may be; the ARL
// (issuing CAs only) changes rarely, so 30 days. RefreshCRLs reissues each
// at half its lifetime. With the root offline the ARL is made at the key
// ceremony, usually with a longer lifetime (IssueARL, up to
// MaxARLLifetime), and RefreshCRLs leaves it alone.
const (
	ORL         = "orl"
	ARL         = "arl"
	ORLLifetime = 24 * time.Hour
	ARLLifetime = 30 * 24 * time.Hour
)

// IssueORLTx issues the next ORL (signed by the Issuing OCA, listing every
// revoked Organisation Certificate) within tx and records it.
func (c *CA) IssueORLTx(tx store.Tx) (store.CRL, error) {
	return c.issueCRLTx(tx, ORL, IssuerIssuing, c.issuing, c.issCAS, ORLLifetime)
}

// IssueARLTx issues the next ARL (signed by the Root OCA, listing every
// revoked issuing CA, valid for ARLLifetime) within tx and records it. It
// fails with ErrRootOffline if the CA was opened without the root key.
func (c *CA) IssueARLTx(tx store.Tx) (store.CRL, error) {
	return c.issueARLTx(tx, ARLLifetime)
}

func (c *CA) issueARLTx(tx store.Tx, lifetime time.Duration) (store.CRL, error) {
	if c.rootCAS == nil {
		return store.CRL{}, fmt.Errorf("%w: issuing the ARL needs the Root OCA key; issue it at the root key ceremony (smki ca arl) and import it (smki ca import-arl)", ErrRootOffline)
	}
	return c.issueCRLTx(tx, ARL, IssuerRoot, c.root, c.rootCAS, lifetime)
}

// issueCRLTx: next CRL number (monotonic, from the stored CRL), every
// revoked certificate of the issuer (expired ones stay listed: relying
// parties may check signatures made in the past), lint, sign through the
// CAS seam, verify, record.
func (c *CA) issueCRLTx(tx store.Tx, name, issuerName string, issuer *x509.Certificate,
	cas apiv1.CertificateAuthorityCRLGenerator, lifetime time.Duration) (store.CRL, error) {
	var number uint64 = 1
	prev, err := tx.GetCRL(name)
	switch {
	case err == nil:
		number = prev.Number + 1
	case !errors.Is(err, store.ErrNotFound):
		return store.CRL{}, fmt.Errorf("%w: reading %s: %w", ErrStore, name, err)
	}
	revoked, err := tx.ListCertificates(store.CertFilter{Issuer: issuerName, Status: store.StatusRevoked})
	if err != nil {
		return store.CRL{}, fmt.Errorf("%w: listing revoked certificates: %w", ErrStore, err)
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return store.CRL{}, fmt.Errorf("%w: stored serial %q is not hex", ErrStore, r.Serial)
		}
		// Reason 0 (unspecified) is left out of the entry, as RFC 5280
		// 5.3.1 asks; x509 omits a zero ReasonCode.
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: r.RevokedAt.UTC(), ReasonCode: r.Reason})
	}
	now := c.clock().UTC().Truncate(time.Second)
	tmpl := &x509.RevocationList{
		SignatureAlgorithm:        x509.ECDSAWithSHA256,
		Number:                    new(big.Int).SetUint64(number),
		ThisUpdate:                now,
		NextUpdate:                now.Add(lifetime),
		RevokedCertificateEntries: entries,
	}
	if err := c.lint.revocationList(tmpl, issuer); err != nil {
		return store.CRL{}, fmt.Errorf("%s %d: %w", name, number, err)
	}
	resp, err := cas.CreateCRL(&apiv1.CreateCRLRequest{RevocationList: tmpl})
	if err != nil {
		return store.CRL{}, fmt.Errorf("%w: signing %s: %v", ErrSigning, name, err)
	}
	parsed, err := x509.ParseRevocationList(resp.CRL)
	if err != nil || parsed.CheckSignatureFrom(issuer) != nil {
		return store.CRL{}, fmt.Errorf("%w: %s does not verify under its issuer", ErrSigning, name)
	}
	out := store.CRL{Name: name, Number: number, ThisUpdate: now, NextUpdate: tmpl.NextUpdate, DER: resp.CRL}
	if err := tx.PutCRL(out); err != nil {
		return store.CRL{}, fmt.Errorf("%w: recording %s: %w", ErrStore, name, err)
	}
	return out, nil
}

// CRL returns the DER of the latest CRL named "orl" or "arl".
func (c *CA) CRL(ctx context.Context, name string) ([]byte, error) {
	if name != ORL && name != ARL {
		return nil, fmt.Errorf("%w: CRL %q (want orl or arl)", ErrBadRequest, name)
	}
	var der []byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		crl, err := tx.GetCRL(name)
		der = crl.DER
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w", ErrStore, name, err)
	}
	return der, nil
}

// RefreshCRLs reissues every CRL that is past half its lifetime. The check
// is repeated inside the write transaction, so instances sharing a store
// that call it together reissue each CRL once. With the root offline it
// reissues only the ORL: the ARL comes from the key ceremony, and
// ARLStatus says when it is due.
func (c *CA) RefreshCRLs(ctx context.Context) error {
	type crlKind struct {
		name  string
		issue func(store.Tx) (store.CRL, error)
	}
	kinds := []crlKind{{ORL, c.IssueORLTx}}
	if !c.RootOffline() {
		kinds = append(kinds, crlKind{ARL, c.IssueARLTx})
	}
	for _, k := range kinds {
		var reissued *store.CRL
		err := c.st.Update(ctx, func(tx store.Tx) error {
			reissued = nil
			cur, err := tx.GetCRL(k.name)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err == nil && !pastHalfLife(cur, c.clock()) {
				return nil
			}
			crl, err := k.issue(tx)
			reissued = &crl
			return err
		})
		if err != nil {
			return fmt.Errorf("refreshing %s: %w", k.name, err)
		}
		if reissued != nil {
			c.log.Info("CRL reissued", "crl", k.name, "number", reissued.Number, "next_update", reissued.NextUpdate)
		}
	}
	return nil
}

// pastHalfLife reports whether now is at or after the midpoint of crl's
// thisUpdate..nextUpdate: the point at which smki reissues a CRL.
func pastHalfLife(crl store.CRL, now time.Time) bool {
	return !now.Before(crl.ThisUpdate.Add(crl.NextUpdate.Sub(crl.ThisUpdate) / 2))
}
