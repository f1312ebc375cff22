package ra

import (
	"context"
	"fmt"
	"strconv"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// ReasonPrivilegeWithdrawn (RFC 5280 privilegeWithdrawn, 9) is a user
// withdrawal's revocation reason unless the request names another.
const ReasonPrivilegeWithdrawn = 9

// WithdrawUser withdraws User ID id from its party (docs/api.md,
// "Withdrawing a User ID"): an ra-operator only. Without yes it is a dry
// run that changes nothing and answers what would be revoked. With yes,
// one transaction in the CA's urgent lane makes the user withdrawn (final),
// revokes every good certificate of it with reason, reissues the ORL and
// appends the audit record; held feed requests are woken. A user an open
// SoLR event names (its SRP user, a user of its failed party) is
// ErrEventState; one already withdrawn ErrInactive; nothing is written.
func (s *Service) WithdrawUser(ctx context.Context, a Actor, id eui64.ID, reason int, yes bool) (UserWithdrawal, error) {
	if err := checkEUI("user ID", id); err != nil {
		return UserWithdrawal{}, err
	}
	if _, err := ParseReason(strconv.Itoa(reason)); err != nil {
		return UserWithdrawal{}, err
	}
	subject := "user:" + id.String()
	dry := !yes
	if !dry {
		// As a revocation: once it has reached the RA, it is carried out
		// or refused on its merits, whether or not its client stays.
		ctx = context.WithoutCancel(ctx)
	}
	req := RevokeRequest{UserID: id, Reason: reason, Yes: yes}
	res := RevokeResult{DryRun: dry, Reason: reason, Certificates: []CertInfo{}}
	var user store.User
	selectTx := func(tx store.Tx) ([]string, []store.AuditEntry, error) {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return nil, nil, err
		}
		u, err := withdrawable(tx, me, id.String())
		if err != nil {
			return nil, nil, err
		}
		certs, err := records.GoodCerts(tx, store.CertFilter{UserID: u.ID, PartyID: u.PartyID, Status: store.StatusGood})
		if err != nil {
			return nil, nil, err
		}
		serials := make([]string, 0, len(certs))
		res.Certificates = res.Certificates[:0]
		for _, c := range certs {
			serials = append(serials, c.Serial)
			if len(res.Certificates) < DryRunSample {
				res.Certificates = append(res.Certificates, certFrom(c, false))
			}
		}
		res.CertificateCount = len(certs)
		summarise(&res, certs, req, dry)
		detail := fmt.Sprintf("role=%s party=%s status_before=%s reason=%s %s", u.Role, u.PartyID, u.Status, ReasonName(reason), records.SerialsDetail(serials))
		if dry {
			detail = "dry-run " + detail
		} else {
			u.Status = store.StatusWithdrawn
			if err := tx.PutUser(u); err != nil {
				return nil, nil, raerr.FromStore("user "+u.ID, err)
			}
		}
		user = u
		return serials, []store.AuditEntry{s.entryOf(a, ActWithdrawUser, subject, "allowed", detail)}, nil
	}
	if dry {
		// A dry run changes nothing but is still a decision: record
		// what was shown.
		err := s.st.Update(ctx, func(tx store.Tx) error {
			_, audit, err := selectTx(tx)
			if err != nil {
				return err
			}
			_, err = tx.AppendAudit(audit[0])
			return err
		})
		if err != nil {
			s.refusedOf(ctx, a, ActWithdrawUser, subject, err)
			return UserWithdrawal{}, err
		}
		return UserWithdrawal{User: userFrom(user), Revocation: res}, nil
	}
	sr, ok := s.issuer.(SelectRevoker)
	if !ok {
		err := fmt.Errorf("%w: this RA's CA cannot revoke in the RA's transaction, so a user is not withdrawn", ErrInternal)
		s.refusedOf(ctx, a, ActWithdrawUser, subject, err)
		return UserWithdrawal{}, err
	}
	revs, err := sr.RevokeSelected(ctx, selectTx, reason, s.now().UTC())
	if err != nil {
		return UserWithdrawal{}, s.revokeRefused(ctx, a, ActWithdrawUser, subject, err)
	}
	res = s.revokedDone(ctx, a, subject, req, res, revs)
	return UserWithdrawal{User: userFrom(user), Revocation: res}, nil
}

// withdrawable is the decision on me withdrawing user id: another
// party's user and none get one answer (hidden, unseen), the policy must allow it
// (Authorize), the user must not be withdrawn already, and no open SoLR
// event may name it.
func withdrawable(tx store.Tx, me store.Officer, id string) (store.User, error) {
	u, err := tx.GetUser(id)
	if err != nil {
		return store.User{}, hidden(me, "user", id, raerr.FromStore("user "+id, err))
	}
	// Another party's user is no user to a party officer (unseen); its
	// own party's it may read, so it is told the precise refusal.
	if err := unseen(me, ActReadParty, u.PartyID, "user", id); err != nil {
		return store.User{}, err
	}
	if err := Authorize(me, ActWithdrawUser, Target{PartyID: u.PartyID}); err != nil {
		return store.User{}, err
	}
	if u.Status == store.StatusWithdrawn {
		return store.User{}, fmt.Errorf("%w: user %s is already withdrawn, so nothing was changed: its certificates were revoked then "+
			"(if you sent this again after its answer was lost, the first one did it; smki certs --user-id %s --status revoked lists them)", ErrInactive, id, id)
	}
	events, err := records.List[records.SoLREvent](tx, records.KindEvent)
	if err != nil {
		return store.User{}, err
	}
	for _, e := range events {
		if e.State == bundle.EventClosed {
			continue
		}
		switch {
		case e.SRPUser.String() == u.ID:
			return store.User{}, fmt.Errorf("%w: user %s is the SRP user of open SoLR event %s (%s): close the event first (smki solr close %s)", ErrEventState, id, e.ID, e.State, e.ID)
		case e.FailedParty.String() == u.PartyID:
			return store.User{}, fmt.Errorf("%w: user %s is a user of party %s, the failed party of open SoLR event %s (%s): close the event first (smki solr close %s)", ErrEventState, id, u.PartyID, e.ID, e.State, e.ID)
		}
	}
	return u, nil
}
