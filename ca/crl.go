package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smallstep/certificates/cas/softcas"

	"github.com/smki/smki/internal/crlfresh"
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
	return c.issueCRLTx(tx, ORL, IssuerIssuing, c.issuing, c.issCAS, ORLLifetime, nil, time.Time{})
}

// IssueARLTx issues the next ARL (signed by the Root OCA, listing every
// revoked issuing CA, valid for ARLLifetime) within tx and records it. It
// fails with ErrRootOffline if the CA was opened without the root key.
func (c *CA) IssueARLTx(tx store.Tx) (store.CRL, error) {
	return c.issueARLTx(tx, ARLLifetime)
}

// issueARLTx is every ARL's way in: the root key must be here, and the
// Root in force (rootInForce: an ARL signed by an expired Root would be
// trusted by nobody, and saying it was issued would hide that a new Root
// OCA is needed). Its nextUpdate never passes the Root's notAfter: a
// lifetime that would is cut to it (issueCRLTx's notAfter), as a
// certificate is cut to its issuer's (docs/operations.md, "The ARL and an
// expiring Root OCA").
func (c *CA) issueARLTx(tx store.Tx, lifetime time.Duration) (store.CRL, error) {
	if c.rootCAS == nil {
		return store.CRL{}, fmt.Errorf("%w: issuing the ARL needs the Root OCA key; issue it at the root key ceremony (smki ca arl) and import it (smki ca import-arl)", ErrRootOffline)
	}
	if err := c.rootInForce(c.clock()); err != nil {
		return store.CRL{}, err
	}
	return c.issueCRLTx(tx, ARL, IssuerRoot, c.root, c.rootCAS, lifetime, nil, c.root.NotAfter)
}

// rootInForce is the one rule of the Root OCA's expiry: from its
// notAfter on, nothing the Root signs (an ARL) or that is issued under it
// (a certificate, by Issue) would be trusted, and a new Issuing OCA would
// not help. It fails ErrCAExpired marked RootExpired, saying what to do.
func (c *CA) rootInForce(now time.Time) error {
	if !now.Before(c.root.NotAfter) {
		return RootExpired(fmt.Errorf("%w: the Root OCA certificate expired on %s; nothing it signs or that is issued under it would be trusted: a new Root OCA (key ceremony) must be made and given to every relying party",
			ErrCAExpired, c.root.NotAfter.UTC().Format(time.RFC3339)))
	}
	return nil
}

// nextCRLNumber is the number of the CRL after prev (nil: the first)
// issued at now: the issue time in nanoseconds since 1970, or prev's
// number plus one when that is not above it (two CRLs in one nanosecond
// of the clock, or a clock behind the one that issued prev). So numbers
// only increase, as RFC 5280 5.2.3 wants, also across a store restored
// from a backup: the restored store's CRL is older, but every CRL
// published after the backup was numbered by an earlier clock than the
// restored CA's (docs/profiles.md).
func nextCRLNumber(prev *store.CRL, now time.Time) uint64 {
	n := uint64(max(now.UnixNano(), 1))
	if prev != nil && n <= prev.Number {
		n = prev.Number + 1
	}
	return n
}

// issueCRLTx: next CRL number (monotonic: nextCRLNumber), every
// revoked certificate of the issuer (expired ones stay listed: relying
// parties may check signatures made in the past; crlEntriesTx), lint,
// sign through the CAS seam's signer, verify, record. added, if not nil,
// are the revocations tx has just made (RevokeTx), which spares reading
// them back. notAfter, if not zero, caps nextUpdate (the ARL's: the
// Root's notAfter).
func (c *CA) issueCRLTx(tx store.Tx, name, issuerName string, issuer *x509.Certificate,
	cas *softcas.SoftCAS, lifetime time.Duration, added []store.Revocation, notAfter time.Time) (store.CRL, error) {
	var prev *store.CRL
	p, err := tx.GetCRL(name)
	switch {
	case err == nil:
		prev = &p
	case !errors.Is(err, store.ErrNotFound):
		return store.CRL{}, fmt.Errorf("%w: reading %s: %w", ErrStore, name, err)
	}
	number := nextCRLNumber(prev, c.clock())
	kept, fresh, cover, err := crlEntriesTx(tx, name, issuerName, prev, added)
	if err != nil {
		return store.CRL{}, err
	}
	// Copied, not appended to: kept is the previous CRL's DER.
	buf := append(make([]byte, 0, len(kept)+len(fresh)*48), kept...)
	entries, sample, err := encodeCRLEntries(buf, fresh, true)
	if err != nil {
		return store.CRL{}, fmt.Errorf("%w: %s: %v", ErrStore, name, err)
	}
	now := c.clock().UTC().Truncate(time.Second)
	next := now.Add(lifetime)
	if !notAfter.IsZero() && next.After(notAfter) {
		next = notAfter.UTC()
	}
	num := new(big.Int).SetUint64(number)
	tbs, err := crlTBS(issuer, num, now, next, entries)
	if err != nil {
		return store.CRL{}, fmt.Errorf("%w: %s %d: %v", ErrLint, name, number, err)
	}
	// The lint CRL is a TBS signed by the throwaway key: the stand-in
	// issuer has the issuer's name and key identifier, all the TBS takes
	// from it. It has this CRL's header and extensions and lists, of the
	// fresh entries, the first of each distinct revocation time and
	// reason (sample): entries kept from the previous CRL were linted
	// when they were first listed and are the same bytes, and the CRL
	// lints read nothing of an entry but its time, its reason and the
	// shape of its extensions, which fresh entries sharing a sample's
	// tail share byte for byte (docs/profiles.md says why; a test pins
	// the set of CRL lints this holds for). So a party's 100,000
	// revocations, one time and one reason, lint as one entry.
	lintTBS, err := crlTBS(issuer, num, now, next, sample)
	if err != nil {
		return store.CRL{}, fmt.Errorf("%w: %s %d: %v", ErrLint, name, number, err)
	}
	if err := c.lint.revocationListTBS(lintTBS); err != nil {
		return store.CRL{}, fmt.Errorf("%s %d: %w", name, number, err)
	}
	der, err := signTBS(cas, issuer, tbs, true)
	if err != nil {
		return store.CRL{}, signingFailed(name, err)
	}
	out := store.CRL{Name: name, Number: number, ThisUpdate: now, NextUpdate: next, DER: der}
	if err := tx.PutCRL(out); err != nil {
		return store.CRL{}, fmt.Errorf("%w: recording %s: %w", ErrStore, name, err)
	}
	cover.SHA256 = crlDigest(der)
	raw, _ := json.Marshal(cover)
	if err := tx.PutMeta(crlMetaKey(name), raw); err != nil {
		return store.CRL{}, fmt.Errorf("%w: recording %s: %w", ErrStore, name, err)
	}
	return out, nil
}

// signTBS signs tbs (ecdsa-with-SHA256) with the key behind cas, checks
// the signature verifies under issuer if check, and returns the signed DER.
func signTBS(cas *softcas.SoftCAS, issuer *x509.Certificate, tbs []byte, check bool) ([]byte, error) {
	signer, err := cas.GetSigner()
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(tbs)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	if check {
		if err := issuer.CheckSignature(x509.ECDSAWithSHA256, tbs, sig); err != nil {
			return nil, fmt.Errorf("the signature does not verify under %q: %v", issuer.Subject.CommonName, err)
		}
	}
	return signedDER(tbs, sig)
}

// crlMetaKey is the store meta key saying which revocations the stored
// CRL of that name lists (crlCover), so the next one can reuse its entries.
func crlMetaKey(name string) string { return "ca/crl/" + name }

// crlCover: the CRL whose DER has this SHA-256 lists every revocation of
// its issuer up to revocation sequence number Seq. Owed: a revocation of
// its issuer was committed without it, because the key could not sign
// (crlAfterRevoking); RefreshCRLs reissues an owed CRL at its next run,
// and the reissue, which writes a new cover, pays the debt.
type crlCover struct {
	Seq    uint64 `json:"seq"`
	SHA256 string `json:"sha256"`
	Owed   bool   `json:"owed,omitempty"`
}

// crlAfterRevoking issues the CRL name (issue) in a transaction that has
// just revoked certificates of its issuer. A revocation is never refused
// for its CRL: if the key cannot sign (ErrKeyUnavailable: an HSM gone
// away; ErrSigning: a key that fails; ErrRootExpired: an ARL, whose Root
// may sign no more), the revocation commits all the same, the stored CRL
// stays as it was and is marked owed in tx, and RefreshCRLs reissues it
// as soon as the key signs again (for an expired Root: never; a new Root
// OCA is needed). Any other failure fails the revocation.
func (c *CA) crlAfterRevoking(tx store.Tx, name string, issue func() error) error {
	err := issue()
	if err == nil || !errors.Is(err, ErrSigning) && !errors.Is(err, ErrKeyUnavailable) && !errors.Is(err, ErrRootExpired) {
		return err
	}
	cover, err2 := crlCoverTx(tx, name)
	if err2 != nil {
		return err2
	}
	cover.Owed = true
	raw, _ := json.Marshal(cover)
	if err2 := tx.PutMeta(crlMetaKey(name), raw); err2 != nil {
		return fmt.Errorf("%w: recording %s as owed: %w", ErrStore, name, err2)
	}
	c.log.Error("revocation recorded, but its CRL could not be signed: the CRL is reissued as soon as the key signs again (GET /readyz says whether it does)",
		"crl", name, "err", err)
	return nil
}

// crlCoverTx reads the cover recorded with the CRL name (zero if none or
// unreadable: the next CRL is then built from every revocation).
func crlCoverTx(tx store.Tx, name string) (crlCover, error) {
	var cover crlCover
	raw, err := tx.GetMeta(crlMetaKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return cover, nil
	}
	if err != nil {
		return cover, fmt.Errorf("%w: reading %s: %w", ErrStore, crlMetaKey(name), err)
	}
	if json.Unmarshal(raw, &cover) != nil {
		return crlCover{}, nil
	}
	return cover, nil
}

func crlDigest(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// crlEntriesTx returns the revokedCertificates entries the next CRL
// lists, as the DER of those kept from prev and the fresh ones to encode,
// and what it covers. If the stored CRL prev is the one recorded with its
// cover (same digest), its entries are kept as they are and only
// revocations after the cover are fresh (taken from added when added is
// exactly those, else read back); otherwise every revoked certificate of
// the issuer is fresh, by serial. Either way the list is every revoked
// certificate of the issuer: revocations are never undone and every one
// after the cover is added.
func crlEntriesTx(tx store.Tx, name, issuerName string, prev *store.CRL, added []store.Revocation) (kept []byte, fresh []crlEntry, _ crlCover, _ error) {
	seq, err := tx.RevocationSeq()
	if err != nil {
		return nil, nil, crlCover{}, fmt.Errorf("%w: reading the revocation sequence: %w", ErrStore, err)
	}
	cover := crlCover{Seq: seq}
	if prev != nil {
		raw, err := tx.GetMeta(crlMetaKey(name))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, crlCover{}, fmt.Errorf("%w: reading %s: %w", ErrStore, crlMetaKey(name), err)
		}
		var old crlCover
		if err == nil && json.Unmarshal(raw, &old) == nil && old.SHA256 == crlDigest(prev.DER) && old.Seq <= seq {
			if base, err := crlEntriesDER(prev.DER); err == nil {
				revs := added
				if uint64(len(revs)) != seq-old.Seq || len(revs) > 0 && (revs[0].Seq != old.Seq+1 || revs[len(revs)-1].Seq != seq) {
					if revs, err = tx.RevocationsSince(old.Seq, 0); err != nil {
						return nil, nil, crlCover{}, fmt.Errorf("%w: reading revocations: %w", ErrStore, err)
					}
				}
				entries := make([]crlEntry, 0, len(revs))
				for _, r := range revs {
					if r.Issuer == issuerName {
						entries = append(entries, crlEntry{serial: r.Serial, at: r.RevokedAt, reason: r.Reason})
					}
				}
				return base, entries, cover, nil
			}
		}
	}
	revoked, err := tx.ListCertificates(store.CertFilter{Issuer: issuerName, Status: store.StatusRevoked})
	if err != nil {
		return nil, nil, crlCover{}, fmt.Errorf("%w: listing revoked certificates: %w", ErrStore, err)
	}
	entries := make([]crlEntry, 0, len(revoked))
	for _, r := range revoked {
		entries = append(entries, crlEntry{serial: r.Serial, at: r.RevokedAt, reason: r.Reason})
	}
	return nil, entries, cover, nil
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
				// Fresh enough, unless a revocation went
				// unlisted (crlAfterRevoking).
				if cover, err := crlCoverTx(tx, k.name); err != nil || !cover.Owed {
					return err
				}
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
	return crlfresh.Grade(crl.ThisUpdate, crl.NextUpdate, now) != crlfresh.OK
}
