package ca

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smki/smki/store"
)

// validReason reports whether r is a CRLReason smki revokes with (RFC 5280
// 5.3.1): 0-6, 9, 10. 7 is unassigned; 8 (removeFromCRL) only has meaning
// in delta CRLs, which smki does not issue.
func validReason(r int) bool { return (r >= 0 && r <= 6) || r == 9 || r == 10 }

// RevokeTx revokes every serial within tx at time at (zero: now, Clock),
// then reissues the ORL (and the ARL if an issuing CA was revoked) in the
// same transaction, so no reader ever sees a revocation that its CRL does
// not list. Any failure (ErrBadReason, ErrNotFound, ErrAlreadyRevoked, also
// for a serial repeated in the list) fails the whole call; the caller's
// transaction then writes nothing.
func (c *CA) RevokeTx(tx store.Tx, serials []string, reason int, at time.Time) ([]store.Revocation, error) {
	return c.revokeTx(tx, serials, reason, at, nil)
}

func (c *CA) revokeTx(tx store.Tx, serials []string, reason int, at time.Time, progress RevokeProgressFunc) ([]store.Revocation, error) {
	if !validReason(reason) {
		return nil, fmt.Errorf("%w: %d is not a usable CRLReason", ErrBadReason, reason)
	}
	if len(serials) == 0 {
		return nil, fmt.Errorf("%w: no serials to revoke", ErrBadRequest)
	}
	if at.IsZero() {
		at = c.clock()
	}
	at = at.UTC().Truncate(time.Second) // CRLs carry seconds
	var orl, arl bool
	out := make([]store.Revocation, 0, len(serials))
	for _, s := range serials {
		serial, err := NormaliseSerial(s)
		if err != nil {
			return nil, err
		}
		cert, err := tx.GetCertificate(serial)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: serial %s", ErrNotFound, serial)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %w", ErrStore, serial, err)
		}
		if cert.Profile == profileRootCA {
			return nil, fmt.Errorf("%w: %s is the root; a root is withdrawn from trust stores, not revoked", ErrBadRequest, serial)
		}
		if cert.Status == store.StatusRevoked {
			return nil, fmt.Errorf("%w: serial %s", ErrAlreadyRevoked, serial)
		}
		rev, err := tx.Revoke(serial, reason, at)
		if errors.Is(err, store.ErrAlreadyRevoked) {
			return nil, fmt.Errorf("%w: serial %s", ErrAlreadyRevoked, serial)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: revoking %s: %w", ErrStore, serial, err)
		}
		out = append(out, rev)
		if progress != nil && (len(out)%revokeProgressStep == 0 || len(out) == len(serials)) {
			progress(len(out), len(serials))
		}
		switch cert.Issuer {
		case IssuerIssuing:
			orl = true
		case IssuerRoot:
			arl = true
		}
	}
	if orl {
		if _, err := c.IssueORLTx(tx); err != nil {
			return nil, err
		}
	}
	if arl {
		if _, err := c.IssueARLTx(tx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Revoke is RevokeTx in its own transaction, with the audit entries
// appended in it (a zero entry Time is stamped with now). A
// RevokeProgressFunc in ctx (WithRevokeProgress) observes it; if the engine
// retries the transaction, progress starts again from zero.
func (c *CA) Revoke(ctx context.Context, serials []string, reason int, at time.Time, audit ...store.AuditEntry) ([]store.Revocation, error) {
	var out []store.Revocation
	progress := revokeProgressFrom(ctx)
	err := c.st.Update(ctx, func(tx store.Tx) error {
		revs, err := c.revokeTx(tx, serials, reason, at, progress)
		if err != nil {
			return err
		}
		out = revs
		return appendAudit(tx, c.clock, audit)
	})
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		c.log.Info("certificate revoked", "serial", r.Serial, "reason", r.Reason, "seq", r.Seq, "user_id", r.UserID)
	}
	return out, nil
}
