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
// not list while the key signs. If it cannot (an HSM gone away), the
// revocation is recorded all the same and the CRL reissued as soon as the
// key signs again (crlAfterRevoking): a revocation is never refused for
// its CRL. Any other failure (ErrBadReason, ErrNotFound, ErrAlreadyRevoked, also
// for a serial repeated in the list, ErrBadRequest for the root) fails the
// whole call; the caller's transaction then writes nothing. The store is
// asked for the whole list at once (store.Tx.RevokeMany), or in steps of
// revokeProgressStep serials when a progress observer follows it.
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
	// Every serial is checked before the store is asked, so a malformed
	// one or the root refuses the list without a write.
	norm := make([]string, len(serials))
	root := SerialHex(c.root.SerialNumber)
	for i, s := range serials {
		serial, err := NormaliseSerial(s)
		if err != nil {
			return nil, err
		}
		if serial == root {
			return nil, errRootRevoke(serial)
		}
		norm[i] = serial
	}
	// One RevokeMany per progress step: the store checks and writes a
	// step's serials in a few round trips, and the observer is called
	// after each, as it was after every revokeProgressStep-th serial.
	// Without an observer, one RevokeMany for the whole list (the store
	// batches it as it likes: PostgreSQL 4,096 serials a statement, not
	// revokeProgressStep).
	step := revokeProgressStep
	if progress == nil {
		step = len(norm)
	}
	var orl, arl bool
	out := make([]store.Revocation, 0, len(norm))
	for start := 0; start < len(norm); start += step {
		revs, err := tx.RevokeMany(norm[start:min(start+step, len(norm))], reason, at)
		if err != nil {
			return nil, revokeFailure(err)
		}
		for _, r := range revs {
			switch r.Issuer {
			case IssuerIssuing:
				orl = true
			case IssuerRoot:
				if err := checkNotRoot(tx, r.Serial); err != nil {
					return nil, err
				}
				arl = true
			}
		}
		out = append(out, revs...)
		if progress != nil {
			progress(len(out), len(norm))
		}
	}
	if orl {
		if err := c.crlAfterRevoking(tx, ORL, func() error {
			_, err := c.issueCRLTx(tx, ORL, IssuerIssuing, c.issuing, c.issCAS, ORLLifetime, out, time.Time{})
			return err
		}); err != nil {
			return nil, err
		}
	}
	if arl {
		if err := c.crlAfterRevoking(tx, ARL, func() error { _, err := c.IssueARLTx(tx); return err }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func errRootRevoke(serial string) error {
	return fmt.Errorf("%w: %s is the root; a root is withdrawn from trust stores, not revoked", ErrBadRequest, serial)
}

// checkNotRoot refuses a revoked Root-issued certificate that is a root:
// the serial check above knows only this CA's root, and the store record's
// profile is what decides. Only CA certificates are Root-issued, so this
// read is rare; the caller's transaction is abandoned on the error.
func checkNotRoot(tx store.Tx, serial string) error {
	cert, err := tx.GetCertificate(serial)
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrStore, serial, err)
	}
	if cert.Profile == profileRootCA {
		return errRootRevoke(serial)
	}
	return nil
}

// revokeFailure maps a RevokeMany error to the CA's codes, naming the
// serial the store refused.
func revokeFailure(err error) error {
	var se *store.SerialError
	if !errors.As(err, &se) {
		return fmt.Errorf("%w: revoking: %w", ErrStore, err)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: serial %s", ErrNotFound, se.Serial)
	case errors.Is(err, store.ErrAlreadyRevoked):
		return fmt.Errorf("%w: serial %s", ErrAlreadyRevoked, se.Serial)
	}
	return fmt.Errorf("%w: revoking %s: %w", ErrStore, se.Serial, err)
}

// Revoke is RevokeTx in its own transaction, with the audit entries
// appended in it (a zero entry Time is stamped with now). The transaction
// is the store's Urgent one: issuance yields to it, and concurrent
// issuance cannot make it fail or retry. A RevokeProgressFunc in ctx
// (WithRevokeProgress) observes it; if the engine retries the transaction
// (a lost connection), progress starts again from zero.
func (c *CA) Revoke(ctx context.Context, serials []string, reason int, at time.Time, audit ...store.AuditEntry) ([]store.Revocation, error) {
	var out []store.Revocation
	progress := revokeProgressFrom(ctx)
	err := c.st.Urgent(ctx, func(tx store.Tx) error {
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
	c.logRevoked(out)
	return out, nil
}

// RevokeSelected is Revoke for a selection made in the same transaction:
// sel reads what to revoke (and the audit entries recording the decision)
// inside the store's Urgent transaction, so issuance yields from the
// moment the selection starts, not only once it is made (on bbolt, the
// one writer is the revocation's throughout). An empty
// selection revokes nothing and appends sel's audit entries; an error
// from sel is returned as it is, and nothing is written. A
// RevokeProgressFunc in ctx observes it as it does Revoke.
func (c *CA) RevokeSelected(ctx context.Context, sel func(store.Tx) ([]string, []store.AuditEntry, error), reason int, at time.Time) ([]store.Revocation, error) {
	var out []store.Revocation
	progress := revokeProgressFrom(ctx)
	err := c.st.Urgent(ctx, func(tx store.Tx) error {
		out = nil
		serials, audit, err := sel(tx)
		if err != nil {
			return err
		}
		if len(serials) > 0 {
			if out, err = c.revokeTx(tx, serials, reason, at, progress); err != nil {
				return err
			}
		}
		return appendAudit(tx, c.clock, audit)
	})
	if err != nil {
		return nil, err
	}
	c.logRevoked(out)
	return out, nil
}

func (c *CA) logRevoked(out []store.Revocation) {
	for _, r := range out {
		c.log.Info("certificate revoked", "serial", r.Serial, "reason", r.Reason, "seq", r.Seq, "user_id", r.UserID)
	}
}
