package demo

import (
	"context"
	"crypto/x509"
	"fmt"
	"github.com/smki/smki/testpki"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/verifier"
)

// revokeLead is how far ahead of the declaration the failed Supplier's
// revocation is scheduled: long enough for approval and the verifier's
// set-up to happen first, so the revocation is seen arriving live.
const revokeLead = 3 * time.Second

func (d *night) stepDeclare(ctx context.Context, s *Step) error {
	liaison, err := d.as("liaison")
	if err != nil {
		return err
	}
	d.revokeAt = d.clock().Add(revokeLead).UTC().Round(time.Millisecond)
	res, err := liaison.DeclareSoLR(ctx, ra.DeclareRequest{FailedParty: partyA.ID, SRPUser: userSC.ID,
		Instruction: "OFGEM-SOLR-DEMO-1", RevokeAt: &d.revokeAt})
	if err != nil {
		return err
	}
	d.eventID = res.Event.ID
	if res.Event.State != bundle.EventDeclared || res.DryRun == nil {
		return fmt.Errorf("event %s is %q with dry run %v, want declared with a dry run", res.Event.ID, res.Event.State, res.DryRun != nil)
	}
	var serials []string
	rows := [][]string{{"would revoke", "user", "profile"}}
	for _, c := range res.DryRun.Certificates {
		serials = append(serials, c.Serial)
		rows = append(rows, []string{c.Serial, c.UserID, c.Profile})
	}
	if !sameSet(serials, d.certsA) {
		return fmt.Errorf("dry run would revoke %v, want supplier-a's %v", serials, d.certsA)
	}
	if res.DryRun.DeviceCount != len(d.devA) || res.DryRun.CertificateCount != len(d.certsA) {
		return fmt.Errorf("dry run puts %d devices in scope and would revoke %d certificates, want supplier-a's %d and %d",
			res.DryRun.DeviceCount, res.DryRun.CertificateCount, len(d.devA), len(d.certsA))
	}
	s.Detail = fmt.Sprintf("event %s: failed party supplier-a, SRP user %s, revoke-at %s", d.eventID, userSC.ID, d.revokeAt.Format("15:04:05.000Z"))
	s.Lines = append(table(rows), fmt.Sprintf("devices coming into the SRP's scope: %d (all of supplier-a's); nothing changes until a second person approves", res.DryRun.DeviceCount))
	return nil
}

func (d *night) stepFourEyes(ctx context.Context, s *Step) error {
	liaison, err := d.as("liaison")
	if err != nil {
		return err
	}
	_, err = liaison.ApproveSoLR(ctx, d.eventID, "")
	if err := refused(err, ra.ErrFourEyes); err != nil {
		return fmt.Errorf("the declarer approving: %w", err)
	}
	s.Lines = append(s.Lines, "liaison (the declarer) approves: refused "+codeOf(err))
	op, err := d.as("admin")
	if err != nil {
		return err
	}
	_, err = op.ApproveSoLR(ctx, d.eventID, "")
	if err := refused(err, ra.ErrForbidden); err != nil {
		return fmt.Errorf("the operator approving: %w", err)
	}
	s.Lines = append(s.Lines, "admin (ra-operator, not an approver) approves: refused "+codeOf(err))
	got, err := liaison.GetSoLR(ctx, d.eventID)
	if err != nil {
		return err
	}
	if got.Event.State != bundle.EventDeclared {
		return fmt.Errorf("after the refusals the event is %s, want still declared", got.Event.State)
	}
	s.Detail = "self-approval refused " + ra.ErrFourEyes.Error() + "; the event is still declared"
	return nil
}

func (d *night) stepApprove(ctx context.Context, s *Step) error {
	approver, err := d.as("approver")
	if err != nil {
		return err
	}
	// The approver approves the dry run it read, and no other set.
	shown, err := approver.GetSoLR(ctx, d.eventID)
	if err != nil {
		return err
	}
	if shown.DryRun == nil {
		return fmt.Errorf("event %s has no dry run to approve (it is %s)", d.eventID, shown.Event.State)
	}
	res, err := approver.ApproveSoLR(ctx, d.eventID, shown.DryRun.CertificatesSHA256)
	if err != nil {
		return err
	}
	e := res.Event
	switch e.State {
	case bundle.EventApproved:
		s.Detail = fmt.Sprintf("approved by %s; supplier-a failed; revocation job %s due %s", e.ApprovedBy, e.JobID, e.RevokeAt.Format("15:04:05.000Z"))
	case bundle.EventActive:
		// The set-up outran revoke-at: the approval itself revoked.
		s.Detail = fmt.Sprintf("approved by %s after revoke-at: revoked at approval", e.ApprovedBy)
	default:
		return fmt.Errorf("after approval the event is %s", e.State)
	}
	op, err := d.as("admin")
	if err != nil {
		return err
	}
	p, err := op.GetParty(ctx, partyA.ID)
	if err != nil {
		return err
	}
	if p.Status != ra.PartyFailed {
		return fmt.Errorf("supplier-a is %s after approval, want %s", p.Status, ra.PartyFailed)
	}
	s.Lines = []string{"supplier-a status: " + p.Status + " (no new certificates)"}
	return nil
}

func (d *night) stepRevocation(ctx context.Context, s *Step) error {
	op, err := d.as("admin")
	if err != nil {
		return err
	}
	// 1. The RA's scheduler revokes at revoke-at (it polls every second).
	deadline := d.revokeAt.Add(30 * time.Second)
	var ev ra.EventResult
	for {
		if ev, err = op.GetSoLR(ctx, d.eventID); err != nil {
			return err
		}
		if ev.Event.State == bundle.EventActive {
			break
		}
		if d.clock().After(deadline) {
			return fmt.Errorf("event still %s 30s after revoke-at %s", ev.Event.State, d.revokeAt.Format(time.RFC3339))
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	e := ev.Event
	if e.RevokedAt == nil || e.RevokedAt.Before(d.revokeAt) {
		return fmt.Errorf("revoked at %v, before revoke-at %s", e.RevokedAt, d.revokeAt.Format(time.RFC3339Nano))
	}
	if !sameSet(e.Revoked, d.certsA) {
		return fmt.Errorf("the event revoked %v, want supplier-a's %v", e.Revoked, d.certsA)
	}
	certs, err := op.ListCertificates(ctx, ra.CertQuery{PartyID: partyA.ID})
	if err != nil {
		return err
	}
	for _, c := range certs {
		if c.Status != "revoked" || c.Reason == nil || *c.Reason != 5 {
			return fmt.Errorf("supplier-a certificate %s is %s (reason %v), want revoked cessationOfOperation", c.Serial, c.Status, c.Reason)
		}
	}
	s.Lines = append(s.Lines, fmt.Sprintf("revoke-at %s, revoked at %s by the scheduler: %d certificates, reason cessationOfOperation",
		d.revokeAt.Format("15:04:05.000Z"), e.RevokedAt.Format("15:04:05.000Z"), e.RevokedCount))

	// 2. The verifier learns it from the feed, not from a new bundle.
	seq := d.v.RevocationSeq()
	if d.inBundle {
		s.Lines = append(s.Lines, fmt.Sprintf("the revocation happened before the verifier started: its first bundle (seq %d) already listed it", seq))
	}
	for wait := time.After(15 * time.Second); seq <= d.bundleSeq && !d.inBundle; {
		select {
		case seq = <-d.feed:
		case <-wait:
			return fmt.Errorf("the verifier's revocation sequence is still %d 15s after the revocation", seq)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.Lines = append(s.Lines, fmt.Sprintf("revocation feed: sequence %d -> %d, applied live by the follower", d.bundleSeq, seq))

	// 3. The ORL, reissued in the same transaction, lists them too.
	der, err := d.get(ctx, "/crl/orl.crl")
	if err != nil {
		return err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("ORL: %w", err)
	}
	listed := map[string]bool{}
	for _, r := range crl.RevokedCertificateEntries {
		listed[r.SerialNumber.Text(16)] = true
	}
	for _, sn := range d.certsA {
		if !listed[normSerial(sn)] {
			return fmt.Errorf("the ORL (number %v) does not list %s", crl.Number, sn)
		}
	}
	if err := d.v.AddCRL(der); err != nil {
		return fmt.Errorf("the new ORL does not verify: %w", err)
	}
	s.Lines = append(s.Lines, fmt.Sprintf("ORL number %v, this update %s, next update %s: %d entries, supplier-a's included",
		crl.Number, crl.ThisUpdate.UTC().Format("15:04:05Z"), crl.NextUpdate.UTC().Format("2006-01-02 15:04Z"), len(crl.RevokedCertificateEntries)))
	s.Detail = fmt.Sprintf("%d certificates revoked %s after revoke-at; feed seq %d", e.RevokedCount,
		e.RevokedAt.Sub(d.revokeAt).Round(10*time.Millisecond), seq)
	return nil
}

func (d *night) stepClose(ctx context.Context, s *Step) error {
	liaison, err := d.as("liaison")
	if err != nil {
		return err
	}
	e, err := liaison.CloseSoLR(ctx, d.eventID, "OFGEM-SOLR-DEMO-1: customers transferred to the SoLR")
	if err != nil {
		return err
	}
	if e.State != bundle.EventClosed {
		return fmt.Errorf("after close the event is %s", e.State)
	}
	installed, err := d.follower.SyncBundle(ctx)
	if err != nil {
		return err
	}
	if !installed {
		return fmt.Errorf("the follower did not install the bundle issued after the close")
	}
	if st := eventStates(d.v.Bundle()); st != string(bundle.EventClosed) {
		return fmt.Errorf("the new bundle shows the event as %q", st)
	}
	c := d.send(reqCase{What: "SC 1.6 Credit after the close", Signer: d.sc, Target: d.devA[0], Body: testpki.Credit, Want: verifier.CodeE4})
	s.Lines = append(s.Lines, c.line())
	if !c.OK {
		return fmt.Errorf("after the close: %s", c.Got)
	}
	to, reason := d.v.RouteAlert(d.devA[0], alertCode, d.clock())
	if len(to) != 1 || to[0] != userA.ID {
		return fmt.Errorf("after the close an alert from %s goes to %v (%s), want supplier-a's user again", d.devA[0], to, reason)
	}
	s.Lines = append(s.Lines, "alert from "+d.devA[0].String()+": "+reason)
	s.Detail = "closed by the liaison; new bundle installed; SC Credit to supplier-a's device refused E4"
	return nil
}

func (d *night) stepAudit(ctx context.Context, s *Step) error {
	op, err := d.as("admin")
	if err != nil {
		return err
	}
	rep, err := op.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	s.Detail = fmt.Sprintf("%d entries, hash chain intact, head %.16s…", rep.Entries, rep.Head)
	return nil
}

// normSerial is a hex serial in one canonical form (lower case, no
// leading zeros, no separators), "" if it is not hex.
func normSerial(s string) string {
	n, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ReplaceAll(strings.ToLower(s), ":", ""), "0x"), 16)
	if !ok {
		return ""
	}
	return n.Text(16)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
