package ra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// The RA's own certificates (its OU=89 bundle and feed signers, profile
// dsp-xml-signing) are out of reach of every party and officer revocation
// (reserved.go). They are revoked only by this procedure, by two people
// (issue 12, finding 3): an ra-operator requests the revocation of one,
// and an ra-approver approves it under the SoLR approval's four-eyes rule
// (fourEyes: not the requester, no shared appointment or re-issue line
// below the system root, a key its holder made). If the certificate is
// the signer this RA signs with, the approval first rotates the signer
// (ownpki.SystemSigner.Rotate), so the revocation reaches verifiers in a
// feed page and bundle signed by the new signer and they switch without a
// gap (docs/bundle.md, "Signer rotation").

// kindSignerRevocation is the record of one request; ID: its ID.
const kindSignerRevocation = "signer-revocation"

// States of a signer revocation request (records).
const (
	SignerRevocationRequested = records.SignerRevocationRequested
	SignerRevocationRevoked   = records.SignerRevocationRevoked
)

// SignerRevocation is a request to revoke one of the RA's own
// certificates (records.SignerRevocation).
type SignerRevocation = records.SignerRevocation

// RequestSignerRevocation records a request to revoke serial, one of the
// RA's own certificates, for reason (an RFC 5280 CRLReason). Nothing is
// revoked until a different person holding ra-approver approves it
// (ApproveSignerRevocation). Who may: an ra-operator. Errors: ErrBadSerial,
// ErrBadReason, ErrNotFound, ErrBadRequest (not one of the RA's own
// certificates), ErrAlreadyRevoked, ErrExists (a request for it is open).
func (s *Service) RequestSignerRevocation(ctx context.Context, a Actor, serial string, reason int) (SignerRevocation, error) {
	n, err := ca.NormaliseSerial(serial)
	if err != nil {
		return SignerRevocation{}, badSerial(serial)
	}
	subject := "cert:" + n
	if _, err := ParseReason(strconv.Itoa(reason)); err != nil {
		s.refusedOf(ctx, a, ActRequestSignerRevocation, subject, err)
		return SignerRevocation{}, err
	}
	now := s.now().UTC()
	id, err := records.NewID("signer-revocation", now)
	if err != nil {
		return SignerRevocation{}, err
	}
	var out SignerRevocation
	err = s.change(ctx, a, ActRequestSignerRevocation, subject, func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActRequestSignerRevocation, Target{}); err != nil {
			return "", err
		}
		if _, err := goodSystemCert(tx, n); err != nil {
			return "", err
		}
		open, err := records.List[SignerRevocation](tx, kindSignerRevocation)
		if err != nil {
			return "", err
		}
		for _, o := range open {
			if o.Serial == n && o.State == SignerRevocationRequested {
				return "", fmt.Errorf("%w: request %s for %s is open; approve it (smki signer approve)", ErrExists, o.ID, n)
			}
		}
		out = SignerRevocation{ID: id, Serial: n, Reason: reason, State: SignerRevocationRequested, RequestedBy: me.ID, RequestedAt: now}
		if err := records.Put(tx, kindSignerRevocation, id, out); err != nil {
			return "", err
		}
		return fmt.Sprintf("request=%s reason=%s", id, ReasonName(reason)), nil
	})
	return out, err
}

// ApproveSignerRevocation is the second person's approval: it revokes the
// requested certificate, in one transaction with the request's new state,
// the ORL and the audit record. If that certificate is the signer this RA
// signs with, the signer is first rotated (a new key and certificate),
// and only then is the old one revoked: a refusal after the rotation
// leaves a new, good signer and the old one unrevoked, and a second
// approval finishes. Who may: an ra-approver, under fourEyes against the
// requester. Errors: ErrFourEyes, ErrForbidden, ErrNotFound,
// ErrEventState (already approved), ErrAlreadyRevoked, ownpki.ErrSigner
// (the rotation failed).
func (s *Service) ApproveSignerRevocation(ctx context.Context, a Actor, id string) (SignerRevocation, error) {
	rv, ok := s.issuer.(TxRevoker)
	if !ok {
		return SignerRevocation{}, fmt.Errorf("%w: the issuer cannot revoke inside a transaction", ErrInternal)
	}
	subject := "signer-revocation:" + id
	// Decide first: the rotation below is not undone by a later refusal,
	// so nobody may cause one who may not approve.
	var req SignerRevocation
	err := s.st.View(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		req, err = approvableSignerRevocation(tx, me, id)
		return err
	})
	if err != nil {
		s.refusedOf(ctx, a, ActApproveSignerRevocation, subject, err)
		return SignerRevocation{}, err
	}
	rotated := ""
	if s.signer != nil && ca.SerialHex(s.signer.Chain()[0].SerialNumber) == req.Serial {
		if _, err := s.signer.Rotate(ctx); err != nil {
			err = fmt.Errorf("%w: rotating the system signer before revoking it: %w", ownpki.ErrSigner, err)
			s.refusedOf(ctx, a, ActApproveSignerRevocation, subject, err)
			return SignerRevocation{}, err
		}
		rotated = ca.SerialHex(s.signer.Chain()[0].SerialNumber)
		s.log.LogAttrs(ctx, slog.LevelWarn, "ra rotated its system signer", slog.String("retired", req.Serial),
			slog.String("new", rotated), slog.String("request", id))
	}
	var out SignerRevocation
	err = s.urgentChange(ctx, a, ActApproveSignerRevocation, subject, func(tx store.Tx, me store.Officer) (string, error) {
		r, err := approvableSignerRevocation(tx, me, id)
		if err != nil {
			return "", err
		}
		now := s.now().UTC()
		if _, err := rv.RevokeTx(tx, []string{r.Serial}, r.Reason, now); err != nil {
			if errors.Is(err, ca.ErrAlreadyRevoked) || errors.Is(err, store.ErrAlreadyRevoked) {
				return "", fmt.Errorf("%w: %w", ErrAlreadyRevoked, err)
			}
			return "", fmt.Errorf("%w: revoking %s: %w", ErrInternal, r.Serial, err)
		}
		r.State, r.ApprovedBy, r.ApprovedAt, r.NewSigner = SignerRevocationRevoked, me.ID, &now, rotated
		if err := records.Put(tx, kindSignerRevocation, id, r); err != nil {
			return "", err
		}
		out = r
		detail := fmt.Sprintf("serial=%s reason=%s requested_by=%s", r.Serial, ReasonName(r.Reason), r.RequestedBy)
		if rotated != "" {
			detail += " rotated_to=" + rotated
		}
		return detail, nil
	})
	return out, err
}

// ListSignerRevocations returns every signer revocation request, oldest
// first. Who may: RA officers.
func (s *Service) ListSignerRevocations(ctx context.Context, a Actor) ([]SignerRevocation, error) {
	var out []SignerRevocation
	err := s.read(ctx, a, ActListAll, "signer-revocations", func(tx store.Tx, me store.Officer) error {
		if err := Authorize(me, ActListAll, Target{}); err != nil {
			return err
		}
		var err error
		out, err = records.List[SignerRevocation](tx, kindSignerRevocation)
		return err
	})
	return out, err
}

// approvableSignerRevocation loads request id and decides, in tx, whether
// me may approve it now.
func approvableSignerRevocation(tx store.Tx, me store.Officer, id string) (SignerRevocation, error) {
	// The RA's own business: a party officer gets one answer for a
	// request and for none (hidden, unseen).
	const what = "signer revocation request"
	var r SignerRevocation
	if !store.ValidRecordKey(id) {
		return r, hidden(me, what, id, fmt.Errorf("%w: %s %q", ErrNotFound, what, id))
	}
	if err := records.Get(tx, kindSignerRevocation, id, &r); errors.Is(err, store.ErrNotFound) {
		return r, hidden(me, what, id, fmt.Errorf("%w: %s %q", ErrNotFound, what, id))
	} else if err != nil {
		return r, err
	}
	if err := unseen(me, ActListAll, "", what, id); err != nil {
		return r, err
	}
	t, err := records.ApprovalTarget(tx, r.RequestedBy, me)
	if err != nil {
		return r, err
	}
	if err := Authorize(me, ActApproveSignerRevocation, t); err != nil {
		return r, err
	}
	if r.State != SignerRevocationRequested {
		return r, fmt.Errorf("%w: signer revocation request %s is %s", ErrEventState, id, r.State)
	}
	_, err = goodSystemCert(tx, r.Serial)
	return r, err
}

// goodSystemCert returns certificate serial if it is one of the RA's own
// and still good.
func goodSystemCert(tx store.Tx, serial string) (store.Certificate, error) {
	c, err := tx.GetCertificate(serial)
	if err != nil {
		return c, raerr.FromStore("certificate "+serial, err)
	}
	if !records.IsSystemCert(c) {
		return c, fmt.Errorf("%w: %s is not one of the RA's own certificates; revoke it with smki cert revoke", ErrBadRequest, serial)
	}
	if c.Status != store.StatusGood {
		return c, fmt.Errorf("%w: %s", ErrAlreadyRevoked, serial)
	}
	return c, nil
}
