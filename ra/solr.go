package ra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TxRevoker is the part of the CA that revokes inside a caller's
// transaction (and reissues the ORL in it); *ca.CA satisfies it. The SoLR
// revocation needs it so that the revocation, the event's new state, the
// job's completion and the audit record commit together or not at all.
type TxRevoker interface {
	RevokeTx(tx store.Tx, serials []string, reason int, at time.Time) ([]store.Revocation, error)
}

// reasonCessation is RFC 5280 cessationOfOperation, the reason for a
// failed Supplier's certificates (DESIGN.md 4).
const reasonCessation = 5

// DeclareRequest records an Authority instruction (DESIGN.md 4 step 1).
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
	Certificates    []CertInfo `json:"certificates"`
	CertificatesURL string     `json:"certificates_url"`
	DeviceCount     int        `json:"device_count"`
	// Devices is a sample: the first DryRunSample.
	Devices []Device `json:"devices"`
}

// DryRunSample is how many certificates and devices a dry run lists.
const DryRunSample = 20

// EventResult is an event with, while its revocation is still to come,
// the dry run of that revocation.
type EventResult struct {
	Event  SoLREvent `json:"event"`
	DryRun *DryRun   `json:"dry_run,omitempty"`
}

func (r DeclareRequest) check() error {
	if err := checkEUI("failed party", r.FailedParty); err != nil {
		return err
	}
	if err := checkEUI("SRP user", r.SRPUser); err != nil {
		return err
	}
	if err := checkName("instruction", r.Instruction); err != nil {
		return err
	}
	if r.End != nil && !r.End.After(r.Start) {
		return fmt.Errorf("%w: end %s is not after start %s", ErrBadRequest, r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	if r.End != nil && r.RevokeAt != nil && !r.RevokeAt.Before(*r.End) {
		return fmt.Errorf("%w: revoke-at %s is not before end %s", ErrBadRequest, r.RevokeAt.Format(time.RFC3339), r.End.Format(time.RFC3339))
	}
	return nil
}

// newEventID returns a fresh, sortable event ID: solr-<UTC date>-<random>.
func newEventID(now time.Time) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInternal, err)
	}
	return "solr-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// DeclareSoLR records a SoLR event in state "declared" and returns it with
// the dry run of its revocation. Nothing else changes until a second
// person approves it. Who may: an authority-liaison or an ra-operator.
// The failed party must exist and be active and have no other open event;
// the SRP user must be an active SC user of another party.
func (s *Service) DeclareSoLR(ctx context.Context, a Actor, req DeclareRequest) (EventResult, error) {
	now := s.now().UTC()
	if req.Start.IsZero() {
		req.Start = now
	}
	if err := req.check(); err != nil {
		s.refusedOf(ctx, a, ActDeclareSoLR, "party:"+req.FailedParty.String(), err)
		return EventResult{}, err
	}
	id, err := newEventID(now)
	if err != nil {
		return EventResult{}, err
	}
	var out EventResult
	err = s.change(ctx, a, ActDeclareSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActDeclareSoLR, Target{}); err != nil {
			return "", err
		}
		if err := partyMayFail(tx, req.FailedParty.String()); err != nil {
			return "", err
		}
		srp, err := activeSCUser(tx, req.SRPUser)
		if err != nil {
			return "", err
		}
		if srp.PartyID == req.FailedParty.String() {
			return "", fmt.Errorf("%w: the SRP user %s belongs to the failed party", ErrBadRequest, srp.ID)
		}
		if open, err := openEventFor(tx, req.FailedParty); err != nil {
			return "", err
		} else if open != "" {
			return "", fmt.Errorf("%w: party %s already has open SoLR event %s", ErrExists, req.FailedParty, open)
		}
		srpParty, _ := eui64.Parse(srp.PartyID)
		e := SoLREvent{ID: id, FailedParty: req.FailedParty, SRPUser: req.SRPUser, SRPParty: srpParty,
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

// ApproveSoLR is the second person's approval (four-eyes): an ra-approver
// who did not declare the event. The failed party becomes "failed". If the
// revocation time is now or past, every good certificate of the failed
// party is revoked (cessationOfOperation) in the same transaction, with
// the ORL reissued, the event made "active" and both audit records;
// otherwise a job is scheduled in that transaction and the event is
// "approved" until the scheduler runs it (RunDue).
func (s *Service) ApproveSoLR(ctx context.Context, a Actor, id string) (EventResult, error) {
	rv, ok := s.issuer.(TxRevoker)
	if !ok {
		return EventResult{}, fmt.Errorf("%w: the issuer cannot revoke inside a transaction", ErrInternal)
	}
	var out EventResult
	// The urgent lane: approval may revoke a whole party (issue 13).
	err := s.urgentChange(ctx, a, ActApproveSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		e, err := records.LoadEvent(tx, id)
		if err != nil {
			return "", err
		}
		t := Target{DeclaredBy: e.DeclaredBy}
		if t.DeclarerLine, err = custodyLine(tx, e.DeclaredBy); err != nil {
			return "", err
		}
		if t.ApproverLine, err = custodyLine(tx, me.ID); err != nil {
			return "", err
		}
		if t.ApproverMadeKey, err = holderMadeKey(tx, me); err != nil {
			return "", err
		}
		if err := Authorize(me, ActApproveSoLR, t); err != nil {
			return "", err
		}
		if e.State != bundle.EventDeclared {
			return "", fmt.Errorf("%w: event %s is %s, not declared", ErrEventState, id, e.State)
		}
		now := s.now().UTC()
		if e.End != nil && !now.Before(*e.End) {
			return "", fmt.Errorf("%w: event %s ended at %s", ErrEventState, id, e.End.Format(time.RFC3339))
		}
		// The facts checked at declaration may have changed since.
		p, err := tx.GetParty(e.FailedParty.String())
		if err != nil {
			return "", raerr.FromStore("party "+e.FailedParty.String(), err)
		}
		if p.Status != store.StatusActive && p.Status != PartyFailed {
			return "", fmt.Errorf("%w: party %s is %s", ErrInactive, p.ID, p.Status)
		}
		if _, err := activeSCUser(tx, e.SRPUser); err != nil {
			return "", err
		}
		if p.Status != PartyFailed {
			if _, err := records.PutPartyStatus(tx, p, PartyFailed); err != nil {
				return "", err
			}
		}
		e.ApprovedBy, e.ApprovedAt, e.State = me.ID, &now, bundle.EventApproved
		if e.RevokeAt == nil {
			e.RevokeAt = &now
		}
		detail := fmt.Sprintf("failed_party=%s party_status=%s", e.FailedParty, PartyFailed)
		if e.RevokeAt.After(now) {
			j := Job{ID: "job-" + e.ID, Kind: records.JobRevokeFailed, EventID: e.ID, DueAt: *e.RevokeAt, CreatedAt: now, State: records.JobPending}
			if err := records.Put(tx, records.KindSchedule, records.ScheduleKey(j), j); err != nil {
				return "", err
			}
			e.JobID = j.ID
			detail += fmt.Sprintf(" revocation scheduled job=%s due=%s", j.ID, j.DueAt.Format(time.RFC3339))
		} else {
			if err := s.revokeFailedTx(tx, rv, &e, now, a.id); err != nil {
				return "", err
			}
			detail += fmt.Sprintf(" revoked=%d", len(e.Revoked))
		}
		if err := records.Put(tx, records.KindEvent, e.ID, e); err != nil {
			return "", err
		}
		out = EventResult{Event: e}
		if e.State == bundle.EventApproved {
			if out.DryRun, err = dryRun(tx, e.FailedParty); err != nil {
				return "", err
			}
		}
		return detail, nil
	})
	return out, err
}

// revokeFailedTx is DESIGN.md 4 step 4 inside tx: revoke every good
// certificate of e's failed party (cessationOfOperation, ORL reissued by
// the CA in tx), make e active and append the "solr.revoke" audit record.
// The caller writes e.
func (s *Service) revokeFailedTx(tx store.Tx, rv TxRevoker, e *SoLREvent, now time.Time, actor string) error {
	certs, err := goodCerts(tx, store.CertFilter{PartyID: e.FailedParty.String(), Status: store.StatusGood})
	if err != nil {
		return err
	}
	serials := make([]string, 0, len(certs))
	for _, c := range certs {
		serials = append(serials, c.Serial)
	}
	if len(serials) > 0 {
		if _, err := rv.RevokeTx(tx, serials, reasonCessation, now); err != nil {
			return fmt.Errorf("%w: revoking the failed Supplier: %w", ErrInternal, err)
		}
	}
	// One record for the whole party (docs/bundle.md, "Party-wide
	// revocation"): the first feed page after this commit cuts every
	// certificate off, before a verifier has read the entries above.
	if err := records.PutPartyRevocation(tx, e.FailedParty, records.PartyIssuedBefore(certs, now), now, reasonCessation); err != nil {
		return err
	}
	e.State, e.RevokedAt, e.Revoked = bundle.EventActive, &now, serials
	_, err = tx.AppendAudit(s.entry(actor, ActRevokeFailed, "party:"+e.FailedParty.String(), "allowed",
		fmt.Sprintf("event=%s reason=%s count=%d serials=%v", e.ID, ReasonName(reasonCessation), len(serials), serials)))
	return err
}

// CloseSoLR closes an open event on the Authority's instruction: the SC
// role returns to default deny for it. A still-scheduled revocation is
// cancelled in the same transaction (revocation cannot be undone; a
// closed event must not cause one). Who may: authority-liaison, ra-operator.
func (s *Service) CloseSoLR(ctx context.Context, a Actor, id, reason string) (SoLREvent, error) {
	if reason == "" {
		reason = "closed by instruction"
	}
	if err := checkName("close reason", reason); err != nil {
		return SoLREvent{}, err
	}
	var out SoLREvent
	err := s.change(ctx, a, ActCloseSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActCloseSoLR, Target{}); err != nil {
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

// closeTx closes e within tx (cancelling its pending job) and writes it.
func (s *Service) closeTx(tx store.Tx, e *SoLREvent, by, reason string) (string, error) {
	if e.State == bundle.EventClosed {
		return "", fmt.Errorf("%w: event %s is already closed", ErrEventState, e.ID)
	}
	now := s.now().UTC()
	detail := fmt.Sprintf("from=%s reason=%q", e.State, reason)
	if e.State == bundle.EventApproved && e.JobID != "" {
		cancelled, err := s.cancelJobTx(tx, e.JobID, now)
		if err != nil {
			return "", err
		}
		if cancelled {
			detail += " cancelled=" + e.JobID
		}
	}
	e.State, e.ClosedBy, e.ClosedAt, e.CloseReason = bundle.EventClosed, by, &now, reason
	return detail, records.Put(tx, records.KindEvent, e.ID, *e)
}

// GetSoLR returns one event, with the dry run while its revocation is to
// come. RA officers, and the SRP party's own SROs and AROs, may read it.
func (s *Service) GetSoLR(ctx context.Context, a Actor, id string) (EventResult, error) {
	var out EventResult
	err := s.read(ctx, a, ActReadSoLR, "solr:"+id, func(tx store.Tx, me store.Officer) error {
		e, err := records.LoadEvent(tx, id)
		if err != nil {
			return err
		}
		if err := Authorize(me, ActReadSoLR, Target{PartyID: e.SRPParty.String()}); err != nil {
			return err
		}
		out = EventResult{Event: e}
		if e.State == bundle.EventDeclared || e.State == bundle.EventApproved {
			if out.DryRun, err = dryRun(tx, e.FailedParty); err != nil {
				return err
			}
			if !IsRAKind(me.Kind) {
				// The SRP's officers learn which devices come into scope,
				// not the failed party's certificates.
				out.DryRun.Certificates, out.DryRun.CertificateCount = []CertInfo{}, 0
				out.DryRun.ByUser, out.DryRun.ByProfile, out.DryRun.CertificatesURL = map[string]int{}, map[string]int{}, ""
			}
		}
		return nil
	})
	return out, err
}

// ListSoLR returns every event (RA officers), or those whose SRP user is of
// the caller's party (party officers), oldest first.
func (s *Service) ListSoLR(ctx context.Context, a Actor) ([]SoLREvent, error) {
	var out []SoLREvent
	err := s.read(ctx, a, ActReadSoLR, "solr", func(tx store.Tx, me store.Officer) error {
		pid := ""
		if !IsRAKind(me.Kind) {
			pid = me.PartyID
		}
		if err := Authorize(me, ActReadSoLR, Target{PartyID: pid}); err != nil {
			return err
		}
		all, err := records.List[SoLREvent](tx, records.KindEvent)
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

// partyMayFail requires a party that a SoLR event may name: active, or
// already failed (its earlier event closed, for example to hand its
// devices to another SRP; openEventFor keeps one open event per party).
func partyMayFail(tx store.Tx, id string) error {
	p, err := tx.GetParty(id)
	if err != nil {
		return raerr.FromStore("party "+id, err)
	}
	if p.Status != store.StatusActive && p.Status != PartyFailed {
		return fmt.Errorf("%w: party %s is %s", ErrInactive, id, p.Status)
	}
	return nil
}

// activeSCUser loads id and requires an active user with User Role SC.
func activeSCUser(tx store.Tx, id eui64.ID) (store.User, error) {
	u, err := tx.GetUser(id.String())
	if err != nil {
		return u, raerr.FromStore("user "+id.String(), err)
	}
	if u.Role != string(role.SoLRContingency) {
		return u, fmt.Errorf("%w: user %s has User Role %s, not SC", ErrInvalidRole, u.ID, u.Role)
	}
	if u.Status != store.StatusActive {
		return u, fmt.Errorf("%w: user %s is %s", ErrInactive, u.ID, u.Status)
	}
	return u, nil
}

// openEventFor returns the ID of an event of party that is not closed, or "".
func openEventFor(tx store.Tx, party eui64.ID) (string, error) {
	all, err := records.List[SoLREvent](tx, records.KindEvent)
	if err != nil {
		return "", err
	}
	for _, e := range all {
		if e.FailedParty == party && e.State != bundle.EventClosed {
			return e.ID, nil
		}
	}
	return "", nil
}

// dryRun: every good certificate of party, and the devices registered to
// its supplier users.
func dryRun(tx store.Tx, party eui64.ID) (*DryRun, error) {
	d := &DryRun{Certificates: []CertInfo{}, Devices: []Device{}, ByUser: map[string]int{}, ByProfile: map[string]int{},
		CertificatesURL: "/v1/certificates?party_id=" + party.String() + "&status=" + string(store.StatusGood)}
	certs, err := goodCerts(tx, store.CertFilter{PartyID: party.String(), Status: store.StatusGood})
	if err != nil {
		return nil, err
	}
	d.CertificateCount = len(certs)
	for _, c := range certs {
		d.ByUser[c.UserID]++
		d.ByProfile[c.Profile]++
		if len(d.Certificates) < DryRunSample {
			d.Certificates = append(d.Certificates, certFrom(c, false))
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
