package solr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/internal/input"
	"github.com/smki/smki/ra/internal/jobbackoff"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// Session is one authenticated officer acting through the RA: ra binds it
// to the verified actor, so this package never names or makes one. Each
// call is ra's audited decision (ra.Service's change and read): Change
// and Urgent run fn in one transaction (Urgent in the store's urgent
// lane) with the officer reloaded and, on success, its "allowed" record;
// Read runs fn in a read transaction and audits it; a refusal is recorded
// by ra in a transaction of its own.
type Session interface {
	ID() string
	Change(ctx context.Context, act authz.Action, subject string, fn func(tx store.Tx, me store.Officer) (detail string, err error)) error
	Urgent(ctx context.Context, act authz.Action, subject string, fn func(tx store.Tx, me store.Officer) (detail string, err error)) error
	Read(ctx context.Context, act authz.Action, subject string, fn func(tx store.Tx, me store.Officer) error) error
	Refused(ctx context.Context, act authz.Action, subject string, cause error)
}

// Env is what the SoLR workflow needs of the RA besides a Session: its
// store (read at each call), the CA's in-transaction revocation, clock,
// logger, the scheduler's lock and backoff, and the RA's audit entries
// and refusals for the scheduler's own work.
type Env struct {
	Store   func() store.Store
	Revoker func() (TxRevoker, bool)
	Now     func() time.Time
	Log     *slog.Logger
	Locker  Locker
	Backoff *jobbackoff.Backoff
	Entry   func(actor string, act authz.Action, subject, result, detail string) store.AuditEntry
	Refused func(ctx context.Context, actor string, act authz.Action, subject string, cause error)
	// ActiveUser refuses (E_RA_INACTIVE) a user, or a user's party, that
	// is not active: ra's one owner of that rule, which enrolment uses too.
	ActiveUser func(tx store.Tx, u store.User) error
}

// Service runs SoLR events and their scheduled revocations. It is safe
// for concurrent use.
type Service struct {
	env Env
}

// New returns the SoLR workflow over env.
func New(env Env) *Service { return &Service{env: env} }

// TxRevoker is the part of the CA that revokes inside a caller's
// transaction (and reissues the ORL in it); *ca.CA satisfies it. The SoLR
// revocation needs it so that the revocation, the event's new state, the
// job's completion and the audit record commit together or not at all.
type TxRevoker interface {
	RevokeTx(tx store.Tx, serials []string, reason int, at time.Time) ([]store.Revocation, error)
}

// ReasonCessation is RFC 5280 cessationOfOperation, the reason for a
// failed Supplier's certificates (docs/api.md, "SoLR events").
const ReasonCessation = 5

// DeclareRequest records an Authority instruction (docs/api.md, "SoLR events", Declare).
type DeclareRequest struct {
	FailedParty eui64.ID
	SRPUser     eui64.ID // an active user with User Role SC
	Instruction string   // the Authority's instruction reference
	Start       time.Time
	End         *time.Time // nil: open-ended
	RevokeAt    *time.Time // nil: at approval ("now")
}

// DryRun is what an event's revocation step would revoke and which
// devices come into the SRP's scope, as of the moment it was computed. It
// is a summary whatever the party's size (issue 20: a 50,000-certificate
// list outgrew the client's answer limit): the counts, per user and per
// profile, and a sample of at most DryRunSample certificates and devices;
// CertificatesURL lists every one (GET, the same filter).
type DryRun struct {
	SupplierUsers    []eui64.ID     `json:"supplier_users"`
	CertificateCount int            `json:"certificate_count"`
	ByUser           map[string]int `json:"by_user"`
	ByProfile        map[string]int `json:"by_profile"`
	// Certificates is a sample: the first DryRunSample, in store order.
	Certificates    []records.CertInfo `json:"certificates"`
	CertificatesURL string             `json:"certificates_url"`
	// CertificatesSHA256 names the set CertificateCount counts: the
	// records.SerialsDigest of their serials (as the event's
	// revoked_sha256 once revoked). An approval that gives it back
	// (Approve) approves that set and no other. Empty when withheld.
	CertificatesSHA256 string `json:"certificates_sha256,omitempty"`
	DeviceCount        int    `json:"device_count"`
	// Devices is a sample: the first DryRunSample.
	Devices []records.Device `json:"devices"`
	// CertificatesWithheld says the certificate figures are left out for
	// this reader (an SRP party's officer does not learn the failed
	// party's certificates): CertificateCount 0 then means "not shown",
	// not "none".
	CertificatesWithheld bool `json:"certificates_withheld,omitempty"`
}

// DryRunSample is how many certificates and devices a dry run lists.
const DryRunSample = 20

// EventResult is an event with, while its revocation is still to come,
// the dry run of that revocation.
type EventResult struct {
	Event  records.SoLREvent `json:"event"`
	DryRun *DryRun           `json:"dry_run,omitempty"`
}

// check refuses a request that cannot make an event, at now: an end
// not after the start, or already reached (the event would authorise
// nothing, yet hold the party's one open event until the scheduler
// closed it), a revocation time not before the end, or before a start
// still to come (the failed Supplier revoked before the SRP may act).
func (r DeclareRequest) check(now time.Time) error {
	if err := input.CheckEUI("failed party", r.FailedParty); err != nil {
		return err
	}
	if err := input.CheckEUI("SRP user", r.SRPUser); err != nil {
		return err
	}
	if err := input.CheckName("instruction", r.Instruction); err != nil {
		return err
	}
	if r.End != nil && !r.End.After(r.Start) {
		return fmt.Errorf("%w: end %s is not after start %s", raerr.ErrBadRequest, r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	if r.End != nil && !r.End.After(now) {
		return fmt.Errorf("%w: end %s has already passed (it is %s): give an end in the future, or none (open-ended)", raerr.ErrBadRequest, r.End.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	// A revoke-at already passed means "at approval", which cannot come
	// before now: only a start still to come can leave a gap.
	if r.RevokeAt != nil && r.RevokeAt.Before(r.Start) && r.Start.After(now) {
		return fmt.Errorf("%w: revoke-at %s is before start %s: the failed Supplier would be revoked before the SRP may act for its consumers; give a revoke-at at or after the start, or none (at approval, or at the start if that is later)",
			raerr.ErrBadRequest, r.RevokeAt.UTC().Format(time.RFC3339), r.Start.UTC().Format(time.RFC3339))
	}
	if r.End != nil && r.RevokeAt != nil && !r.RevokeAt.Before(*r.End) {
		return fmt.Errorf("%w: revoke-at %s is not before end %s", raerr.ErrBadRequest, r.RevokeAt.Format(time.RFC3339), r.End.Format(time.RFC3339))
	}
	return nil
}

// newEventID returns a fresh, sortable event ID: solr-<UTC date>-<random>.
func newEventID(now time.Time) (string, error) { return records.NewID("solr", now) }

// Declare records a SoLR event in state "declared" and returns it with
// the dry run of its revocation. Nothing else changes until a second
// person approves it. Who may: an authority-liaison or an ra-operator.
// The failed party must exist, be active, suspended or already failed
// (partyMayFail), and have no other open event;
// the SRP user must be an active SC user of another party.
func (s *Service) Declare(ctx context.Context, a Session, req DeclareRequest) (EventResult, error) {
	now := s.env.Now().UTC()
	if req.Start.IsZero() {
		req.Start = now
	}
	if err := req.check(now); err != nil {
		a.Refused(ctx, authz.ActDeclareSoLR, "party:"+req.FailedParty.String(), err)
		return EventResult{}, err
	}
	id, err := newEventID(now)
	if err != nil {
		return EventResult{}, err
	}
	var out EventResult
	err = a.Change(ctx, authz.ActDeclareSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		if err := authz.Authorize(me, authz.ActDeclareSoLR, authz.Target{}); err != nil {
			return "", err
		}
		if _, err := partyMayFail(tx, req.FailedParty.String()); err != nil {
			return "", err
		}
		srp, err := s.activeSCUser(tx, req.SRPUser)
		if err != nil {
			return "", err
		}
		if srp.PartyID == req.FailedParty.String() {
			return "", fmt.Errorf("%w: the SRP user %s belongs to the failed party", raerr.ErrBadRequest, srp.ID)
		}
		if err := mayFollow(tx, req); err != nil {
			return "", err
		}
		srpParty, _ := eui64.Parse(srp.PartyID)
		e := records.SoLREvent{ID: id, FailedParty: req.FailedParty, SRPUser: req.SRPUser, SRPParty: srpParty,
			Instruction: req.Instruction, Start: req.Start.UTC(), End: utcPtr(req.End), RevokeAt: utcPtr(req.RevokeAt),
			State: bundle.EventDeclared, DeclaredBy: me.ID, DeclaredAt: now}
		dry, err := dryRun(tx, req.FailedParty)
		if err != nil {
			return "", err
		}
		if err := records.Put(tx, records.KindEvent, id, e); err != nil {
			return "", err
		}
		out = EventResult{Event: e, DryRun: dry}
		return fmt.Sprintf("failed_party=%s srp_user=%s instruction=%q start=%s end=%s revoke_at=%s would_revoke=%d devices=%d",
			e.FailedParty, e.SRPUser, e.Instruction, e.Start.Format(time.RFC3339), fmtTimePtr(e.End, "open"),
			fmtTimePtr(e.RevokeAt, "at-approval"), dry.CertificateCount, dry.DeviceCount), nil
	})
	return out, err
}

// Approve is the second person's approval (four-eyes): an ra-approver
// who did not declare the event; to a party officer other than the SRP
// party's, the event does not exist (authz.Unseen). It is two
// transactions when the revocation time is now or past
// (docs/architecture.md, "The Supplier cut-off"):
//
//  1. the cut-off, small whatever the party's size, in the urgent lane:
//     the failed party becomes "failed", its party-wide revocation
//     (bundle.PartyRevocation) is recorded, the event is "approved" with a
//     revocation job due now, and the approval's audit record. The held
//     feed requests are answered with it as soon as it commits, so every
//     following verifier refuses the whole party from that page on.
//  2. the job, run at once by Approve (runJob, the urgent lane again):
//     every good certificate of the party revoked one by one
//     (cessationOfOperation) with the ORL reissued, the event "active", the
//     job logged and its "solr.revoke" audit record.
//
// Approve returns once both have committed. If the second fails (or the
// process dies between them), the cut-off stands, the event stays
// "approved" with its job pending and due, and the scheduler (RunDue, at
// its next tick or after a restart) runs it, even once the event is
// closed (Close keeps it): Approve then returns the
// approved event and no error, since the approval itself took effect. A
// revocation time in the future schedules the job alone in the first
// transaction; the scheduler runs it (cut-off and certificates together)
// when due.
//
// shown, if not empty, is the CertificatesSHA256 of the dry run the
// approver read: the approval is refused (ErrDryRunChanged, nothing
// changed) unless the failed party's good certificates are that set in
// the approval's transaction, so a certificate issued to the party after
// that dry run is not revoked unseen by the approval. (A revocation
// scheduled later revokes every good certificate at its time, as
// documented; shown binds what the approver saw to what stands at
// approval.) Empty: the approval takes the set as it stands, as before.
// Checking it lists the party's certificates inside the cut-off.
func (s *Service) Approve(ctx context.Context, a Session, id, shown string) (EventResult, error) {
	if _, ok := s.env.Revoker(); !ok {
		return EventResult{}, fmt.Errorf("%w: the issuer cannot revoke inside a transaction", raerr.ErrInternal)
	}
	shown, err := checkDigest(shown)
	if err != nil {
		a.Refused(ctx, authz.ActApproveSoLR, "solr:"+id, err)
		return EventResult{}, err
	}
	var out EventResult
	var now time.Time
	cutNow := false
	// The urgent lane: approval cuts a whole party off (issue 13).
	err = a.Urgent(ctx, authz.ActApproveSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		// A party officer gets one answer for an event it may not read
		// and for none (authz.Hidden, Unseen); the SRP party's own, the
		// precise refusal.
		e, err := records.LoadEvent(tx, id)
		if err != nil {
			return "", authz.Hidden(me, "SoLR event", id, err)
		}
		if err := authz.Unseen(me, authz.ActReadSoLR, e.SRPParty.String(), "SoLR event", id); err != nil {
			return "", err
		}
		t, err := records.ApprovalTarget(tx, e.DeclaredBy, me)
		if err != nil {
			return "", err
		}
		if err := authz.Authorize(me, authz.ActApproveSoLR, t); err != nil {
			return "", err
		}
		if e.State != bundle.EventDeclared {
			return "", notDeclared(e)
		}
		now = s.env.Now().UTC()
		if e.End != nil && !now.Before(*e.End) {
			return "", fmt.Errorf("%w: event %s ended at %s", raerr.ErrEventState, id, e.End.Format(time.RFC3339))
		}
		// The facts checked at declaration may have changed since.
		p, err := partyMayFail(tx, e.FailedParty.String())
		if err != nil {
			return "", err
		}
		if _, err := s.activeSCUser(tx, e.SRPUser); err != nil {
			return "", err
		}
		if shown != "" {
			if err := sameCertificates(tx, e, shown); err != nil {
				return "", err
			}
		}
		// Before its start an event authorises the SRP for nothing: an
		// approval then leaves the failed Supplier as it is, so that
		// someone may put its consumers' meters into credit all along,
		// and its revocation (by default at the start) makes it failed.
		beforeStart := e.Start.After(now)
		if p.Status != records.PartyFailed && !beforeStart {
			e.PartyStatusBefore = p.Status
			if _, err := records.PutPartyStatus(tx, p, records.PartyFailed); err != nil {
				return "", err
			}
		}
		e.ApprovedBy, e.ApprovedAt, e.State = me.ID, &now, bundle.EventApproved
		if e.RevokeAt == nil {
			e.RevokeAt = &now
			if beforeStart {
				e.RevokeAt = &e.Start
			}
		}
		cutNow = !e.RevokeAt.After(now)
		j := records.Job{ID: "job-" + e.ID, Kind: records.JobRevokeFailed, EventID: e.ID, DueAt: *e.RevokeAt, CreatedAt: now, State: records.JobPending}
		if cutNow {
			j.DueAt = now
		}
		if err := records.Put(tx, records.KindSchedule, records.ScheduleKey(j), j); err != nil {
			return "", err
		}
		e.JobID = j.ID
		detail := fmt.Sprintf("failed_party=%s party_status=%s", e.FailedParty, records.PartyFailed)
		if beforeStart {
			detail = fmt.Sprintf("failed_party=%s party_status=%s until start=%s", e.FailedParty, p.Status, e.Start.Format(time.RFC3339))
		}
		if shown != "" {
			detail += " certificates_sha256=" + shown
		}
		if cutNow {
			if err := cutOffTx(tx, e.FailedParty, now); err != nil {
				return "", err
			}
			detail += fmt.Sprintf(" cut_off=party-wide revocation job=%s due=now", j.ID)
		} else {
			detail += fmt.Sprintf(" revocation scheduled job=%s due=%s", j.ID, j.DueAt.Format(time.RFC3339))
		}
		if err := records.Put(tx, records.KindEvent, e.ID, e); err != nil {
			return "", err
		}
		out = EventResult{Event: e}
		if !cutNow {
			if out.DryRun, err = dryRun(tx, e.FailedParty); err != nil {
				return "", err
			}
		}
		return detail, nil
	})
	if err != nil || !cutNow {
		return out, err
	}
	// The cut-off has committed; now the certificates, one by one. The
	// approval took effect, so its revocation no longer follows the
	// request: a client that goes away now (a killed smki solr approve)
	// must not turn it into a failed job for the scheduler's backoff.
	ctx = context.WithoutCancel(ctx)
	key := records.ScheduleKey(records.Job{ID: out.Event.JobID, DueAt: now})
	if err := s.runNow(ctx, key, a.ID()); err != nil {
		s.env.Log.LogAttrs(ctx, slog.LevelError, "ra solr approve: the revocation job failed; the party is cut off and the scheduler retries it",
			slog.String("event", id), slog.String("job", out.Event.JobID), slog.String("error", err.Error()))
		return out, nil
	}
	err = s.env.Store().View(ctx, func(tx store.Tx) error {
		out.Event, err = records.LoadEvent(tx, id)
		return err
	})
	return out, err
}

// checkDigest returns shown, a dry run's certificates_sha256, in lower
// case, or ErrBadRequest if it is neither empty nor 64 hex digits.
func checkDigest(shown string) (string, error) {
	shown = strings.ToLower(strings.TrimSpace(shown))
	if shown == "" {
		return "", nil
	}
	if b, err := hex.DecodeString(shown); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("%w: certificates_sha256 %q is not a SHA-256 (64 hex digits): give the certificates_sha256 of the dry run you read (smki solr show ID)", raerr.ErrBadRequest, shown)
	}
	return shown, nil
}

// certsDigest is the records.SerialsDigest of certs' serials.
func certsDigest(certs []store.Certificate) string {
	serials := make([]string, len(certs))
	for i, c := range certs {
		serials[i] = c.Serial
	}
	return records.SerialsDigest(serials)
}

// sameCertificates refuses (ErrDryRunChanged) unless the good
// certificates of e's failed party are, in tx, the set whose digest is
// shown: the dry run the approver read.
func sameCertificates(tx store.Tx, e records.SoLREvent, shown string) error {
	certs, err := records.GoodCerts(tx, store.CertFilter{PartyID: e.FailedParty.String(), Status: store.StatusGood})
	if err != nil {
		return err
	}
	if certsDigest(certs) == shown {
		return nil
	}
	return fmt.Errorf("%w: the failed party %s's certificates changed since the dry run you approved (certificates_sha256 %s): it has %d good certificate(s) now; nothing was approved; read the new dry run with smki solr show %s and approve it with its certificates_sha256",
		raerr.ErrDryRunChanged, e.FailedParty, shown, len(certs), e.ID)
}

// cutOffTx records in tx the party-wide revocation of party at now
// (cessationOfOperation): one compact record, carried by every feed page
// (docs/bundle.md, "Party-wide revocation"), so the first page after the
// commit cuts the party off before a verifier has read one
// per-certificate entry. It covers every certificate valid at now
// (issued_before: now, to the next second) without listing them, which
// would cost seconds at 100,000 and hold the writer meanwhile; a
// certificate dated ahead of that, not yet valid, is covered when the
// revocation job widens the record (revokeFailedTx).
func cutOffTx(tx store.Tx, party eui64.ID, now time.Time) error {
	return records.PutPartyRevocation(tx, party, records.PartyIssuedBefore(nil, now), now, ReasonCessation)
}

// revokeFailedTx is the SoLR revocation (docs/api.md, "SoLR events") inside tx: revoke every good
// certificate of e's failed party (cessationOfOperation, ORL reissued by
// the CA in tx), record the party-wide revocation if the approval did not
// (a scheduled job: the cut-off and the certificates in one transaction),
// make e active (an approved e; a closed one, whose Close kept its due
// revocation, stays closed) with what was revoked, and append the
// "solr.revoke" audit record. The caller writes e.
func (s *Service) revokeFailedTx(tx store.Tx, rv TxRevoker, e *records.SoLREvent, now time.Time, actor string) error {
	certs, err := records.GoodCerts(tx, store.CertFilter{PartyID: e.FailedParty.String(), Status: store.StatusGood})
	if err != nil {
		return err
	}
	serials := make([]string, 0, len(certs))
	for _, c := range certs {
		serials = append(serials, c.Serial)
	}
	if len(serials) > 0 {
		if _, err := rv.RevokeTx(tx, serials, ReasonCessation, now); err != nil {
			return fmt.Errorf("%w: revoking the failed Supplier: %w", raerr.ErrInternal, err)
		}
	}
	// A no-op when the approval's cut-off already covers these (it merges
	// to the same record and writes nothing); it widens the cut-off to a
	// certificate dated ahead of it.
	if err := records.PutPartyRevocation(tx, e.FailedParty, records.PartyIssuedBefore(certs, *e.RevokeAt), *e.RevokeAt, ReasonCessation); err != nil {
		return err
	}
	detail := fmt.Sprintf("event=%s reason=%s %s", e.ID, records.ReasonName(ReasonCessation), records.SerialsDetail(serials))
	// An event approved before its start left the party as it was
	// (Approve): it fails with its revocation.
	p, err := tx.GetParty(e.FailedParty.String())
	if err != nil {
		return raerr.FromStore("party "+e.FailedParty.String(), err)
	}
	if p.Status != records.PartyFailed {
		if e.PartyStatusBefore == "" {
			e.PartyStatusBefore = p.Status
		}
		if _, err := records.PutPartyStatus(tx, p, records.PartyFailed); err != nil {
			return err
		}
		detail += " party_status=" + records.PartyFailed
	}
	if e.State == bundle.EventApproved {
		e.State = bundle.EventActive
	} else {
		detail += " event_state=" + string(e.State)
	}
	e.RevokedAt = &now
	e.SetRevoked(serials)
	_, err = tx.AppendAudit(s.env.Entry(actor, authz.ActRevokeFailed, "party:"+e.FailedParty.String(), "allowed", detail))
	return err
}

// Close closes an open event on the Authority's instruction: the SC
// role returns to default deny for it. A revocation whose time is still
// to come is cancelled in the same transaction (revocation cannot be
// undone; a closed event must not start one). One that can no longer be
// cancelled (revocationDue: the approval has cut the party off, or its
// time has passed) keeps its job, which the scheduler runs on the closed
// event (runJob): cancelling it would leave the party-wide revocation
// standing with every certificate of the party good in the store, the
// ORL, OCSP and the repository. Close itself revokes nothing: it runs in
// the ordinary lane and stays small whatever the party holds, while the
// job, in the urgent lane, is the one owner of the certificates'
// revocation. Who may: authority-liaison, ra-operator.
func (s *Service) Close(ctx context.Context, a Session, id, reason string) (records.SoLREvent, error) {
	if reason == "" {
		reason = "closed by instruction"
	}
	if err := input.CheckName("close reason", reason); err != nil {
		return records.SoLREvent{}, err
	}
	var out records.SoLREvent
	err := a.Change(ctx, authz.ActCloseSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		if err := authz.Authorize(me, authz.ActCloseSoLR, authz.Target{}); err != nil {
			return "", err
		}
		e, err := records.LoadEvent(tx, id)
		if err != nil {
			return "", err
		}
		detail, err := s.closeTx(tx, &e, me.ID, reason)
		out = e
		return detail, err
	})
	return out, err
}

// closeTx closes e within tx and writes it: an approved e's pending job
// is cancelled while its revocation is still to come, and the failed
// party gets back its status from before the approval (restoreParty),
// else the job is kept (Close). The detail says which: cancelled=JOB
// party_status=S, or kept=JOB.
func (s *Service) closeTx(tx store.Tx, e *records.SoLREvent, by, reason string) (string, error) {
	if e.State == bundle.EventClosed {
		return "", fmt.Errorf("%w: event %s was already closed by %s at %s (reason %q): nothing was done; smki solr show %s",
			raerr.ErrEventState, e.ID, e.ClosedBy, fmtTimePtr(e.ClosedAt, "?"), e.CloseReason, e.ID)
	}
	now := s.env.Now().UTC()
	detail := fmt.Sprintf("from=%s reason=%q", e.State, reason)
	switch {
	case e.State != bundle.EventApproved || e.JobID == "":
	case revocationDue(*e, now):
		detail += fmt.Sprintf(" kept=%s revoke_at=%s", e.JobID, fmtTimePtr(e.RevokeAt, "at-approval"))
	default:
		cancelled, err := s.cancelJobTx(tx, e.JobID, now)
		if err != nil {
			return "", err
		}
		if cancelled {
			detail += " cancelled=" + e.JobID
			restored, err := restoreParty(tx, *e)
			if err != nil {
				return "", err
			}
			if restored != "" {
				detail += " party_status=" + restored
			}
		}
	}
	e.State, e.ClosedBy, e.ClosedAt, e.CloseReason = bundle.EventClosed, by, &now, reason
	return detail, records.Put(tx, records.KindEvent, e.ID, *e)
}

// restoreParty gives e's failed party back the status it had before e's
// approval made it "failed", once e's revocation is cancelled: nothing of
// the failure is then left (no party-wide revocation was recorded, every
// certificate is good), and a party left "failed" would be refused by
// every verifier while the ORL and OCSP call its certificates good, with
// no step to reinstate it. It returns the status restored, or "" when
// there is nothing to restore (the party was failed before e, or is no
// longer failed, or e was approved before the status was recorded).
func restoreParty(tx store.Tx, e records.SoLREvent) (string, error) {
	if e.PartyStatusBefore == "" {
		return "", nil
	}
	p, err := tx.GetParty(e.FailedParty.String())
	if err != nil {
		return "", raerr.FromStore("party "+e.FailedParty.String(), err)
	}
	if p.Status != records.PartyFailed {
		return "", nil
	}
	if _, err := records.PutPartyStatus(tx, p, e.PartyStatusBefore); err != nil {
		return "", err
	}
	return e.PartyStatusBefore, nil
}

// notDeclared is the refusal of an approval of e, no longer declared: it
// says who moved it on and when, so that an approver who sends the
// approval again after losing the answer (E_RA_UNREACHABLE: "it may have
// been carried out") learns whether it was their own, and that this
// attempt did nothing.
func notDeclared(e records.SoLREvent) error {
	how := fmt.Sprintf("is %s", e.State)
	if e.ApprovedBy != "" {
		how = fmt.Sprintf("was already approved by %s at %s (it is %s now)", e.ApprovedBy, fmtTimePtr(e.ApprovedAt, "?"), e.State)
	} else if e.State == bundle.EventClosed {
		how = fmt.Sprintf("was closed by %s at %s without approval", e.ClosedBy, fmtTimePtr(e.ClosedAt, "?"))
	}
	return fmt.Errorf("%w: event %s %s: nothing was done; smki solr show %s", raerr.ErrEventState, e.ID, how, e.ID)
}

// revocationDue reports whether the revocation of e, approved, can no
// longer be cancelled at now: the approval cut the party off (revoke-at
// not after the approval: the party-wide revocation is recorded and every
// verifier refuses the party), or its time has passed (an on-time
// scheduler would have run it; its lateness must not decide whether the
// certificates are revoked). The first compares two times the approving
// instance recorded, so a close on an instance whose clock lags the
// approver's still keeps a cut-off's job.
func revocationDue(e records.SoLREvent, now time.Time) bool {
	if e.RevokeAt == nil || e.ApprovedAt == nil {
		return true // not written by Approve, which sets both; keep rather than lose a revocation
	}
	return !e.RevokeAt.After(*e.ApprovedAt) || !e.RevokeAt.After(now)
}

// Get returns one event, with the dry run while its revocation is to
// come. RA officers, and the SRP party's own SROs and AROs, may read it;
// to other party officers it does not exist (authz.Hidden).
func (s *Service) Get(ctx context.Context, a Session, id string) (EventResult, error) {
	var out EventResult
	err := a.Read(ctx, authz.ActReadSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) error {
		// Another SRP party's event and none get one answer to a party
		// officer (authz.Hidden).
		e, err := records.LoadEvent(tx, id)
		if err != nil {
			return authz.Hidden(me, "SoLR event", id, err)
		}
		if err := authz.Hidden(me, "SoLR event", id, authz.Authorize(me, authz.ActReadSoLR, authz.Target{PartyID: e.SRPParty.String()})); err != nil {
			return err
		}
		out = EventResult{Event: e}
		if e.State == bundle.EventDeclared || e.State == bundle.EventApproved {
			if out.DryRun, err = dryRun(tx, e.FailedParty); err != nil {
				return err
			}
			if !authz.IsRAKind(me.Kind) {
				// The SRP's officers learn which devices come into scope,
				// not the failed party's certificates.
				out.DryRun.Certificates, out.DryRun.CertificateCount = []records.CertInfo{}, 0
				out.DryRun.ByUser, out.DryRun.ByProfile, out.DryRun.CertificatesURL = map[string]int{}, map[string]int{}, ""
				out.DryRun.CertificatesSHA256 = ""
				out.DryRun.CertificatesWithheld = true
			}
		}
		return nil
	})
	return out, err
}

// List returns every event (RA officers), or those whose SRP user is of
// the caller's party (party officers), oldest first.
func (s *Service) List(ctx context.Context, a Session) ([]records.SoLREvent, error) {
	var out []records.SoLREvent
	err := a.Read(ctx, authz.ActReadSoLR, "solr", func(tx store.Tx, me store.Officer) error {
		pid := ""
		if !authz.IsRAKind(me.Kind) {
			pid = me.PartyID
		}
		if err := authz.Authorize(me, authz.ActReadSoLR, authz.Target{PartyID: pid}); err != nil {
			return err
		}
		all, err := records.List[records.SoLREvent](tx, records.KindEvent)
		if err != nil {
			return err
		}
		out = all[:0]
		for _, e := range all {
			if pid == "" || e.SRPParty.String() == pid {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// partyMayFail returns the party id if a SoLR event may name it (at
// declaration and again at approval): active; suspended (RA staff
// suspend a failing Supplier first, and failing it only tightens that:
// reinstating it to declare would let its users act again); or already
// failed (its earlier event closed, for example to hand its devices to
// another SRP; mayFollow keeps one open event per party at any moment).
func partyMayFail(tx store.Tx, id string) (store.Party, error) {
	p, err := tx.GetParty(id)
	if err != nil {
		return p, raerr.FromStore("party "+id, err)
	}
	switch p.Status {
	case store.StatusActive, store.StatusSuspended, records.PartyFailed:
		return p, nil
	}
	return p, fmt.Errorf("%w: party %s is %s", raerr.ErrInactive, id, p.Status)
}

// activeSCUser loads id and requires a user with User Role SC that can
// act: the user and its party active (Env.ActiveUser). Every verifier
// refuses a user of a party that is not active, whatever its own status
// (docs/bundle.md), so an SRP whose party is suspended could serve none of
// the failed Supplier's devices.
func (s *Service) activeSCUser(tx store.Tx, id eui64.ID) (store.User, error) {
	u, err := tx.GetUser(id.String())
	if err != nil {
		return u, raerr.FromStore("user "+id.String(), err)
	}
	if u.Role != string(role.SoLRContingency) {
		return u, fmt.Errorf("%w: user %s has User Role %s, not SC", raerr.ErrInvalidRole, u.ID, u.Role)
	}
	if err := s.env.ActiveUser(tx, u); err != nil {
		return u, fmt.Errorf("%w: the SRP user %s cannot act for the failed Supplier (every verifier refuses it)", err, u.ID)
	}
	return u, nil
}

// mayFollow refuses a declaration for a party with an open event (not
// closed) unless it is a successor: it starts at or after the end of
// every open event of the party, so that at any moment one event at most
// speaks for the failed Supplier (one SRP, one window), and the
// Authority's extension of a contingency, or its hand-over to another
// SRP, runs on from the end without a gap and without closing anything.
// An open-ended event has no successor.
func mayFollow(tx store.Tx, req DeclareRequest) error {
	all, err := records.List[records.SoLREvent](tx, records.KindEvent)
	if err != nil {
		return err
	}
	for _, open := range all {
		if open.FailedParty != req.FailedParty || open.State == bundle.EventClosed {
			continue
		}
		if open.End != nil && !req.Start.Before(*open.End) {
			continue
		}
		next := "it is open-ended: close it first"
		if open.End != nil {
			next = fmt.Sprintf("to continue after it, declare a successor with --start %s (its end) or later", open.End.UTC().Format(time.RFC3339))
		}
		return fmt.Errorf("%w: party %s already has open SoLR event %s (%s, declared by %s at %s, instruction %q, %s to %s): nothing was declared; read it with smki solr show %s; %s",
			raerr.ErrExists, req.FailedParty, open.ID, open.State, open.DeclaredBy, open.DeclaredAt.UTC().Format(time.RFC3339), open.Instruction,
			open.Start.UTC().Format(time.RFC3339), fmtTimePtr(open.End, "open-ended"), open.ID, next)
	}
	return nil
}

// dryRun: every good certificate of party, and the devices registered to
// its supplier users.
func dryRun(tx store.Tx, party eui64.ID) (*DryRun, error) {
	d := &DryRun{Certificates: []records.CertInfo{}, Devices: []records.Device{}, ByUser: map[string]int{}, ByProfile: map[string]int{},
		CertificatesURL: "/v1/certificates?party_id=" + party.String() + "&status=" + string(store.StatusGood)}
	certs, err := records.GoodCerts(tx, store.CertFilter{PartyID: party.String(), Status: store.StatusGood})
	if err != nil {
		return nil, err
	}
	d.CertificateCount = len(certs)
	d.CertificatesSHA256 = certsDigest(certs)
	for _, c := range certs {
		d.ByUser[c.UserID]++
		d.ByProfile[c.Profile]++
		if len(d.Certificates) < DryRunSample {
			d.Certificates = append(d.Certificates, records.CertFrom(c, false))
		}
	}
	if d.SupplierUsers, err = records.SupplierUsers(tx, party); err != nil {
		return nil, err
	}
	if d.SupplierUsers == nil {
		d.SupplierUsers = []eui64.ID{}
	}
	devs, err := records.ListDevices(tx)
	if err != nil {
		return nil, err
	}
	for _, dv := range devs {
		if slices.Contains(d.SupplierUsers, dv.SupplierUser) {
			d.DeviceCount++
			if len(d.Devices) < DryRunSample {
				d.Devices = append(d.Devices, dv)
			}
		}
	}
	return d, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func fmtTimePtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}
