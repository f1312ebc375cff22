package ca

import (
	"bytes"
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"

	"github.com/smki/smki/store"
)

// ARLImportSkew is how far in the future an imported ARL's thisUpdate may
// be: the ceremony machine's clock and this one's need not agree exactly.
const ARLImportSkew = 5 * time.Minute

// MaxARLSize bounds ImportARL's input (ErrTooLarge). An ARL lists issuing
// CAs, a handful at most; a megabyte is thousands of entries.
const MaxARLSize = 1 << 20

// ImportOptions are ImportARL's knobs.
type ImportOptions struct {
	Clock func() time.Time // nil = time.Now
	Actor string           // recorded in the audit entry; "" = "ca"
}

// ImportedARL is what ImportARL installed.
type ImportedARL struct {
	CRL      store.CRL
	Previous uint64 // number of the ARL it replaced (0: there was none)
	// Revoked are the certificates the ARL lists that the store still
	// held as good (an issuing CA revoked at the ceremony): ImportARL
	// revokes them in the same transaction, so the revocation feed and
	// the served ARL agree.
	Revoked []store.Revocation
}

// ImportARL installs an ARL made at the root key ceremony (IssueARL on the
// ceremony's copy of the CA) as the current ARL of st, which holds the
// same CA, opened or not with Config.OfflineRoot. It needs no key: an ARL
// is public and carries the root's signature. data is DER or one PEM
// "X509 CRL" block.
//
// It checks, refusing with the code in brackets and writing nothing: data
// is exactly one CRL [ErrTooLarge, ErrARLInvalid]; its issuer is the
// stored root's subject and the root's key verifies its signature
// [ErrARLIssuer]; it passes the CRL lints [ErrLint]; its CRL number is
// greater than the stored ARL's [ErrARLNumber]; thisUpdate is at most
// ARLImportSkew ahead of now [ErrARLNotYetValid]; nextUpdate is set and
// after now [ErrARLExpired]; nextUpdate - thisUpdate is at most
// MaxARLLifetime and it does not list the root itself [ErrARLInvalid]; it
// lists every certificate the store holds as revoked by the root
// [ErrARLIncomplete]. Then, in one transaction that repeats the
// store-dependent checks: it revokes any listed certificate the store
// still holds as good, stores the ARL and appends an audit entry.
func ImportARL(ctx context.Context, st store.Store, data []byte, opts ImportOptions) (ImportedARL, error) {
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock
	}
	actor := opts.Actor
	if actor == "" {
		actor = "ca"
	}
	der, crl, err := parseARL(data)
	if err != nil {
		return ImportedARL{}, err
	}
	var out ImportedARL
	err = st.Update(ctx, func(tx store.Tx) error {
		out = ImportedARL{}
		root, err := storedRoot(tx)
		if err != nil {
			return err
		}
		if err := checkARL(der, crl, root, now()); err != nil {
			return err
		}
		number := crl.Number.Uint64()
		prev, err := tx.GetCRL(ARL)
		switch {
		case err == nil:
			out.Previous = prev.Number
			if number <= prev.Number {
				return fmt.Errorf("%w: ARL number %d is not greater than the stored ARL's %d", ErrARLNumber, number, prev.Number)
			}
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("%w: reading the ARL: %w", ErrStore, err)
		}
		if out.Revoked, err = applyARLEntries(tx, crl, root); err != nil {
			return err
		}
		out.CRL = store.CRL{Name: ARL, Number: number, ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(), DER: der}
		if err := tx.PutCRL(out.CRL); err != nil {
			return fmt.Errorf("%w: recording the ARL: %w", ErrStore, err)
		}
		_, err = tx.AppendAudit(store.AuditEntry{Time: now(), Actor: actor, Action: "ca.arl.import",
			Subject: SerialHex(root.SerialNumber), Result: "ok",
			Detail: fmt.Sprintf("ARL %d (replaces %d), thisUpdate %s, nextUpdate %s, %d entries, %d newly revoked",
				number, out.Previous, crl.ThisUpdate.UTC().Format(time.RFC3339), crl.NextUpdate.UTC().Format(time.RFC3339),
				len(crl.RevokedCertificateEntries), len(out.Revoked))})
		if err != nil {
			return fmt.Errorf("%w: audit: %w", ErrStore, err)
		}
		return nil
	})
	if err != nil {
		return ImportedARL{}, err
	}
	return out, nil
}

// parseARL reads DER or one PEM "X509 CRL" block, refusing trailing data:
// what is stored and served must be exactly what the root signed.
func parseARL(data []byte) ([]byte, *x509.RevocationList, error) {
	if len(data) > MaxARLSize {
		return nil, nil, fmt.Errorf("%w: ARL of %d bytes (at most %d)", ErrTooLarge, len(data), MaxARLSize)
	}
	der := data
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		block, rest := pem.Decode(trimmed)
		if block == nil || block.Type != "X509 CRL" || len(bytes.TrimSpace(rest)) > 0 {
			return nil, nil, fmt.Errorf("%w: want DER or one PEM X509 CRL block", ErrARLInvalid)
		}
		der = block.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrARLInvalid, err)
	}
	if len(crl.Raw) != len(der) {
		return nil, nil, fmt.Errorf("%w: %d bytes of trailing data", ErrARLInvalid, len(der)-len(crl.Raw))
	}
	return der, crl, nil
}

// storedRoot returns the Root OCA certificate recorded by Init.
func storedRoot(tx store.Tx) (*x509.Certificate, error) {
	raw, err := tx.GetMeta(metaState)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoCA()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading CA state: %w", ErrStore, err)
	}
	var state caState
	if err := json.Unmarshal(raw, &state); err != nil {
		return nil, fmt.Errorf("%w: CA state does not parse: %v", ErrConfig, err)
	}
	rec, err := tx.GetCertificate(state.RootSerial)
	if err != nil {
		return nil, fmt.Errorf("%w: root certificate: %w", ErrStore, err)
	}
	root, err := x509.ParseCertificate(rec.DER)
	if err != nil {
		return nil, fmt.Errorf("%w: stored root certificate: %v", ErrConfig, err)
	}
	return root, nil
}

// checkARL is ImportARL's checks that need the root and the time but not
// the rest of the store.
func checkARL(der []byte, crl *x509.RevocationList, root *x509.Certificate, now time.Time) error {
	if !bytes.Equal(crl.RawIssuer, root.RawSubject) {
		return fmt.Errorf("%w: ARL issuer %q is not the root %q", ErrARLIssuer, crl.Issuer, root.Subject)
	}
	if err := crl.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("%w: the root's key does not verify the ARL: %v", ErrARLIssuer, err)
	}
	if err := lintCRLDER(der); err != nil {
		return fmt.Errorf("ARL: %w", err)
	}
	if crl.Number == nil || crl.Number.Sign() <= 0 || !crl.Number.IsUint64() {
		return fmt.Errorf("%w: ARL number %v: want 1 to 2^64-1", ErrARLNumber, crl.Number)
	}
	if crl.ThisUpdate.After(now.Add(ARLImportSkew)) {
		return fmt.Errorf("%w: thisUpdate %s is ahead of now (%s) by more than %v", ErrARLNotYetValid,
			crl.ThisUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), ARLImportSkew)
	}
	if crl.NextUpdate.IsZero() || !now.Before(crl.NextUpdate) {
		return fmt.Errorf("%w: nextUpdate %s is not after now (%s)", ErrARLExpired,
			crl.NextUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if life := crl.NextUpdate.Sub(crl.ThisUpdate); life > MaxARLLifetime {
		return fmt.Errorf("%w: lifetime %v exceeds %v", ErrARLInvalid, life, MaxARLLifetime)
	}
	if serial := SerialHex(root.SerialNumber); listsSerial(crl, serial) {
		return fmt.Errorf("%w: the ARL lists the root %s itself", ErrARLInvalid, serial)
	}
	return nil
}

// lintCRLDER runs the RFC lints Issue applies to every CRL smki makes on
// a CRL made elsewhere.
func lintCRLDER(der []byte) error {
	l, err := newLinter(nil)
	if err != nil {
		return err
	}
	zr, err := zx509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("%w: zcrypto cannot parse the CRL: %v", ErrLint, err)
	}
	return l.verdict("crl", zlint.LintRevocationListEx(zr, l.rfc))
}

func listsSerial(crl *x509.RevocationList, serial string) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Sign() > 0 && SerialHex(e.SerialNumber) == serial {
			return true
		}
	}
	return false
}

// applyARLEntries checks that crl lists every certificate the store holds
// as revoked by the root, then revokes those it lists that the store
// holds as good, with the ARL's reason and time. Serials the store does not
// know are published but not recorded: the ARL is the root's word on them.
func applyARLEntries(tx store.Tx, crl *x509.RevocationList, root *x509.Certificate) ([]store.Revocation, error) {
	listed := make(map[string]x509.RevocationListEntry, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() <= 0 {
			return nil, fmt.Errorf("%w: ARL entry with serial %v", ErrARLInvalid, e.SerialNumber)
		}
		listed[SerialHex(e.SerialNumber)] = e
	}
	revoked, err := tx.ListCertificates(store.CertFilter{Issuer: IssuerRoot, Status: store.StatusRevoked})
	if err != nil {
		return nil, fmt.Errorf("%w: listing revoked certificates: %w", ErrStore, err)
	}
	for _, r := range revoked {
		if _, ok := listed[r.Serial]; !ok {
			return nil, fmt.Errorf("%w: the store holds %s (%s) as revoked and the ARL does not list it", ErrARLIncomplete, r.Serial, r.Profile)
		}
	}
	var out []store.Revocation
	rootSerial := SerialHex(root.SerialNumber)
	for _, serial := range sortedKeys(listed) {
		cert, err := tx.GetCertificate(serial)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %w", ErrStore, serial, err)
		}
		if cert.Issuer != IssuerRoot || serial == rootSerial || cert.Status == store.StatusRevoked {
			continue
		}
		e := listed[serial]
		if !validReason(e.ReasonCode) {
			return nil, fmt.Errorf("%w: ARL entry %s has reason %d, not a usable CRLReason", ErrARLInvalid, serial, e.ReasonCode)
		}
		rev, err := tx.Revoke(serial, e.ReasonCode, e.RevocationTime.UTC())
		if err != nil {
			return nil, fmt.Errorf("%w: revoking %s as the ARL says: %w", ErrStore, serial, err)
		}
		out = append(out, rev)
	}
	return out, nil
}

// sortedKeys orders serials numerically (store serials are lower-case hex
// without leading zeros: shorter is smaller), so revocations are applied,
// and numbered, in a stable order.
func sortedKeys(m map[string]x509.RevocationListEntry) []string {
	return slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	})
}
