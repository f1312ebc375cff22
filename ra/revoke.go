package ra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// summarise makes res, a bulk request's answer, the bounded summary:
// counts by user and profile of certs, the selection, and the GET that
// lists every one (good ones before, revoked ones after a revocation).
// res.Certificates is already at most DryRunSample long.
func summarise(res *RevokeResult, certs []store.Certificate, req RevokeRequest, dry bool) {
	res.ByUser, res.ByProfile = map[string]int{}, map[string]int{}
	for _, c := range certs {
		res.ByUser[c.UserID]++
		res.ByProfile[c.Profile]++
	}
	status := store.StatusGood
	if !dry {
		status = store.StatusRevoked
	}
	if req.PartyID.IsZero() {
		res.CertificatesURL = "/v1/certificates?user_id=" + req.UserID.String() + "&status=" + string(status)
	} else {
		res.CertificatesURL = "/v1/certificates?party_id=" + req.PartyID.String() + "&status=" + string(status)
	}
}

func revokeScope(r RevokeRequest) (Action, string, error) {
	n := 0
	var act Action
	var subject string
	if r.Serial != "" {
		n, act, subject = n+1, ActRevoke, "cert:"+r.Serial
	}
	if !r.UserID.IsZero() {
		n, act, subject = n+1, ActRevokeUser, "user:"+r.UserID.String()
	}
	if !r.PartyID.IsZero() {
		n, act, subject = n+1, ActRevokeParty, "party:"+r.PartyID.String()
	}
	if n != 1 {
		return "", "", fmt.Errorf("%w: give exactly one of serial, user_id, party_id", ErrBadRequest)
	}
	if _, err := ParseReason(strconv.Itoa(r.Reason)); err != nil {
		return "", "", err
	}
	return act, subject, nil
}

// Revoke revokes one certificate (Serial), every good certificate of a
// user (UserID) or of a party (PartyID). Bulk requests are dry runs unless
// Yes. The CA revokes every selected serial in one transaction that also
// advances the revocation sequence, reissues the ORL and appends the
// "allowed" audit record; a refusal is audited on its own.
//
// Who may: the party's own SROs and AROs for one certificate or one user,
// the party's SROs for the whole party, ra-operators for anything. A
// party officer naming another party's certificate, user or party is
// told it does not exist (hidden).
func (s *Service) Revoke(ctx context.Context, a Actor, req RevokeRequest) (RevokeResult, error) {
	if req.Serial != "" {
		n, err := ca.NormaliseSerial(req.Serial)
		if err != nil {
			return RevokeResult{}, badSerial(req.Serial)
		}
		req.Serial = n
	}
	act, subject, err := revokeScope(req)
	if err != nil {
		return RevokeResult{}, err
	}
	dry := req.DryRun
	if act != ActRevoke {
		dry = !req.Yes
	}
	if !dry {
		// Once the request has reached the RA, a revocation is carried out
		// or refused on its merits, never dropped half way because the
		// client went away (a killed smki revoke, a closed terminal): its
		// transaction no longer follows the request's cancellation. The
		// client that left was told nothing; listing the certificates shows
		// the outcome, as docs/api.md ("Progress") says.
		ctx = context.WithoutCancel(ctx)
	}
	res := RevokeResult{DryRun: dry, Reason: req.Reason, Certificates: []CertInfo{}}
	// selectTx authorises and lists the selection into res, and returns
	// its serials and the audit record of the decision.
	selectTx := func(tx store.Tx) ([]string, []store.AuditEntry, error) {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return nil, nil, err
		}
		certs, err := selectForRevocation(tx, me, act, req)
		if err != nil {
			return nil, nil, err
		}
		bulk := act != ActRevoke
		serials := make([]string, 0, len(certs))
		res.Certificates = res.Certificates[:0]
		for _, c := range certs {
			serials = append(serials, c.Serial)
			if !bulk || len(res.Certificates) < DryRunSample {
				res.Certificates = append(res.Certificates, certFrom(c, false))
			}
		}
		res.CertificateCount = len(certs)
		if bulk {
			summarise(&res, certs, req, dry)
		}
		detail := "reason=" + ReasonName(req.Reason) + " " + records.SerialsDetail(serials)
		if dry {
			detail = "dry-run " + detail
		}
		return serials, []store.AuditEntry{s.entryOf(a, act, subject, "allowed", detail)}, nil
	}
	if sr, ok := s.issuer.(SelectRevoker); ok && !dry {
		// The selection is read in the revocation's own (Urgent)
		// transaction: issuance yields from the start (issue 13).
		revs, err := sr.RevokeSelected(ctx, selectTx, req.Reason, s.now().UTC())
		if err != nil {
			return RevokeResult{}, s.revokeRefused(ctx, a, act, subject, err)
		}
		return s.revokedDone(ctx, a, subject, req, res, revs), nil
	}
	var serials []string
	var audit []store.AuditEntry
	err = s.st.View(ctx, func(tx store.Tx) (err error) {
		serials, audit, err = selectTx(tx)
		return err
	})
	if err != nil {
		s.refusedOf(ctx, a, act, subject, err)
		return RevokeResult{}, err
	}
	if dry || len(serials) == 0 {
		// A dry run (or an empty selection) changes nothing but is still a
		// decision: record what was shown.
		err := s.st.Update(ctx, func(tx store.Tx) error {
			_, err := tx.AppendAudit(audit[0])
			return err
		})
		if err != nil {
			return RevokeResult{}, fmt.Errorf("%w: audit: %w", ErrInternal, err)
		}
		return res, nil
	}
	revs, err := s.issuer.Revoke(ctx, serials, req.Reason, s.now().UTC(), audit...)
	if err != nil {
		return RevokeResult{}, s.revokeRefused(ctx, a, act, subject, err)
	}
	return s.revokedDone(ctx, a, subject, req, res, revs), nil
}

// CRLStatuser is the part of the CA that says whether a CRL is owed a
// revocation (ca.CA.CRLStatus); a revocation's answer says so when the
// issuer has it.
type CRLStatuser interface {
	CRLStatus(ctx context.Context, name string) (ca.ARLStatus, error)
}

// SelectRevoker is the part of the CA that selects and revokes in one
// transaction (ca.CA.RevokeSelected); Revoke uses it when the issuer has it.
type SelectRevoker interface {
	RevokeSelected(ctx context.Context, sel func(store.Tx) ([]string, []store.AuditEntry, error), reason int, at time.Time) ([]store.Revocation, error)
}

// revokeRefused audits a failed revocation and returns its error.
func (s *Service) revokeRefused(ctx context.Context, a Actor, act Action, subject string, err error) error {
	if errors.Is(err, ca.ErrAlreadyRevoked) || errors.Is(err, store.ErrAlreadyRevoked) {
		err = fmt.Errorf("%w: %w", ErrAlreadyRevoked, err)
	}
	s.refusedOf(ctx, a, act, subject, err)
	return err
}

// revokedDone completes res with what was revoked, wakes the feed and logs.
func (s *Service) revokedDone(ctx context.Context, a Actor, subject string, req RevokeRequest, res RevokeResult, revs []store.Revocation) RevokeResult {
	markRevoked(&res, revs)
	if cs, ok := s.issuer.(CRLStatuser); ok && len(revs) > 0 {
		st, err := cs.CRLStatus(ctx, ca.ORL)
		res.ORLPending = err == nil && st.Owed
	}
	s.feed.Committed(revs) // wake held feed requests (ra/internal/feedhub)
	s.log.LogAttrs(ctx, slog.LevelInfo, "ra revoked", slog.String("actor", a.id), slog.String("subject", subject),
		slog.Int("count", len(revs)), slog.String("reason", ReasonName(req.Reason)))
	return res
}

// selectForRevocation authorises and returns the good certificates req selects.
func selectForRevocation(tx store.Tx, me store.Officer, act Action, req RevokeRequest) ([]store.Certificate, error) {
	switch act {
	case ActRevoke:
		c, err := tx.GetCertificate(req.Serial)
		if err != nil {
			return nil, hidden(me, "certificate", req.Serial, raerr.FromStore("certificate "+req.Serial, err))
		}
		if c.UserID == "" {
			// CA certificates are the CA operator's business, not the RA's.
			return nil, fmt.Errorf("%w: %s is not an Organisation Certificate", ErrForbidden, req.Serial)
		}
		if records.IsSystemCert(c) {
			// The RA's own signer is revoked only by the RA's own
			// four-eyes procedure (signerrev.go), never by one officer.
			return nil, fmt.Errorf("%w: %s is the RA's own certificate: an ra-operator requests its revocation (smki signer revoke) and an ra-approver approves it", ErrForbidden, req.Serial)
		}
		if err := Authorize(me, act, Target{PartyID: c.PartyID}); err != nil {
			return nil, hidden(me, "certificate", req.Serial, err)
		}
		if c.Status != store.StatusGood {
			// Most often the same revocation sent again after its answer
			// was lost: say it stands, not only that it was refused.
			return nil, fmt.Errorf("%w: certificate %s is already revoked, so nothing was changed: the revocation stands "+
				"(if you sent this again after its answer was lost, the first one did it; smki certs --status revoked lists it)", ErrAlreadyRevoked, req.Serial)
		}
		return []store.Certificate{c}, nil
	case ActRevokeUser:
		u, err := tx.GetUser(req.UserID.String())
		if err != nil {
			return nil, hidden(me, "user", req.UserID.String(), raerr.FromStore("user "+req.UserID.String(), err))
		}
		if err := Authorize(me, act, Target{PartyID: u.PartyID}); err != nil {
			return nil, hidden(me, "user", req.UserID.String(), err)
		}
		// By user AND party: a certificate of the same Entity ID under
		// another party (the RA's own, say) is not this user's.
		return records.GoodCerts(tx, store.CertFilter{UserID: u.ID, PartyID: u.PartyID, Status: store.StatusGood})
	default:
		// Another party and none get one answer (unseen, hidden); a
		// party's own officer refused its bulk revocation (an ARO) is
		// told so.
		id := req.PartyID.String()
		if err := unseen(me, ActReadParty, id, "party", id); err != nil {
			return nil, err
		}
		p, err := tx.GetParty(id)
		if err != nil {
			return nil, hidden(me, "party", id, raerr.FromStore("party "+id, err))
		}
		if err := Authorize(me, act, Target{PartyID: p.ID}); err != nil {
			return nil, err
		}
		return records.GoodCerts(tx, store.CertFilter{PartyID: p.ID, Status: store.StatusGood})
	}
}

// ListCertificates lists Organisation Certificates. Party officers see
// only their own party's; a query across parties is for RA officers. A
// party officer filtering by another party's user is told the user does
// not exist (hidden), whatever party it also names.
func (s *Service) ListCertificates(ctx context.Context, a Actor, q CertQuery) ([]CertInfo, error) {
	if q.Status != "" && q.Status != string(store.StatusGood) && q.Status != string(store.StatusRevoked) {
		return nil, fmt.Errorf("%w: status %q (want good or revoked)", ErrBadRequest, q.Status)
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrBadRequest)
	}
	after := ""
	if q.After != "" {
		n, err := ca.NormaliseSerial(q.After)
		if err != nil {
			return nil, fmt.Errorf("%w: after %q is not a serial: pass the previous page's next", ErrBadRequest, q.After)
		}
		after = n
	}
	var out []CertInfo
	err := s.read(ctx, a, ActReadParty, "certificates", func(tx store.Tx, me store.Officer) error {
		out = []CertInfo{}
		f := store.CertFilter{Issuer: ca.IssuerIssuing, Status: store.CertStatus(q.Status), Role: q.Role, After: after, Limit: q.Limit}
		pid := ""
		if !q.PartyID.IsZero() {
			pid = q.PartyID.String()
		}
		if !q.UserID.IsZero() {
			// Another party's user and none get one answer (hidden),
			// before anything says which party the user is of.
			u, err := tx.GetUser(q.UserID.String())
			if err != nil {
				return hidden(me, "user", q.UserID.String(), raerr.FromStore("user "+q.UserID.String(), err))
			}
			if err := hidden(me, "user", u.ID, authorizeRead(me, u.PartyID)); err != nil {
				return err
			}
			if pid != "" && pid != u.PartyID {
				return fmt.Errorf("%w: user %s is not of party %s", ErrBadRequest, u.ID, pid)
			}
			pid, f.UserID = u.PartyID, u.ID
		}
		pid = partyScope(me, pid)
		if err := authorizeRead(me, pid); err != nil {
			return err
		}
		f.PartyID = pid
		if !q.ExpiresBefore.IsZero() {
			return listExpiring(tx, f, q.ExpiresBefore, &out)
		}
		cs, err := tx.ListCertificates(f)
		if err != nil {
			return fmt.Errorf("%w: list certificates: %w", ErrInternal, err)
		}
		for _, c := range cs {
			out = append(out, certFrom(c, false))
		}
		return nil
	})
	return out, err
}

// expiringScan is how many certificates listExpiring reads at a time.
const expiringScan = 1000

// listExpiring appends to out the certificates f selects whose notAfter
// is before t, at most f.Limit (0: all), reading the selection a page at
// a time so that memory holds one page, not every certificate.
func listExpiring(tx store.Tx, f store.CertFilter, t time.Time, out *[]CertInfo) error {
	limit := f.Limit
	f.Limit = expiringScan
	for {
		cs, err := tx.ListCertificates(f)
		if err != nil {
			return fmt.Errorf("%w: list certificates: %w", ErrInternal, err)
		}
		for _, c := range cs {
			if c.NotAfter.Before(t) {
				*out = append(*out, certFrom(c, false))
				if limit > 0 && len(*out) == limit {
					return nil
				}
			}
		}
		if len(cs) < expiringScan {
			return nil
		}
		f.After = cs[len(cs)-1].Serial
	}
}

// GetCertificate returns one Organisation Certificate with its PEM.
func (s *Service) GetCertificate(ctx context.Context, a Actor, serial string) (CertInfo, error) {
	n, err := ca.NormaliseSerial(serial)
	if err != nil {
		return CertInfo{}, badSerial(serial)
	}
	serial = n
	var out CertInfo
	err = s.read(ctx, a, ActReadParty, "cert:"+serial, func(tx store.Tx, me store.Officer) error {
		c, err := tx.GetCertificate(serial)
		if err != nil {
			return hidden(me, "certificate", serial, raerr.FromStore("certificate "+serial, err))
		}
		if err := authorizeRead(me, c.PartyID); err != nil {
			return hidden(me, "certificate", serial, err)
		}
		out = certFrom(c, true)
		return nil
	})
	return out, err
}

// badSerial is the refusal of something that is not a serial at all: it
// says how to write one, where "not found" would send the caller looking
// for a certificate (issue 14).
func badSerial(s string) error {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Errorf("%w: %q is not a certificate serial: give it in hex (at most 20 octets, colons and 0x allowed), as smki certs lists it", ErrBadSerial, s)
}

// ParseReason accepts an RFC 5280 reason by name (case-insensitive, e.g.
// "keyCompromise") or number ("1"); "" is unspecified (0). The reasons an
// RA may use are records.ParseReason's.
func ParseReason(s string) (int, error) { return records.ParseReason(s) }

// ReasonName returns the RFC 5280 name of reason code n.
func ReasonName(n int) string { return records.ReasonName(n) }
