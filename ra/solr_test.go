package ra

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/store"
)

func TestDeclareRefusals(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	start := ratest.Start.Add(time.Hour)
	before, after := start.Add(-time.Minute), start.Add(2*time.Hour)
	late := start.Add(3 * time.Hour)
	// An event that ended before it was declared would authorise nothing
	// and hold the party's one open event until the scheduler closed it.
	longAgo, ended, now := ratest.Start.Add(-2*time.Hour), ratest.Start.Add(-time.Hour), ratest.Start
	tests := []struct {
		name string
		who  Actor
		req  DeclareRequest
		want error
	}{
		{"aro may not declare", s.aroSup, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X"}, ErrForbidden},
		{"approver may not declare", s.approver, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X"}, ErrForbidden},
		{"unknown failed party", s.liaison, DeclareRequest{FailedParty: eui64.MustParse("90-B3-D5-1F-30-00-00-99"), SRPUser: s.userSC, Instruction: "X"}, ErrNotFound},
		{"srp user unknown", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: eui64.MustParse("90-B3-D5-1F-30-01-00-99"), Instruction: "X"}, ErrNotFound},
		{"srp user not SC", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userIS2, Instruction: "X"}, ErrInvalidRole},
		{"instruction empty", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: " "}, ErrBadRequest},
		{"end not after start", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X", Start: start, End: &before}, ErrBadRequest},
		{"revoke before start", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X", Start: start, RevokeAt: &before}, ErrBadRequest},
		{"revoke after end", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X", Start: start, End: &after, RevokeAt: &late}, ErrBadRequest},
		{"end already passed", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X", Start: longAgo, End: &ended}, ErrBadRequest},
		{"end now", s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "X", Start: longAgo, End: &now}, ErrBadRequest},
		{"zero failed party", s.liaison, DeclareRequest{SRPUser: s.userSC, Instruction: "X"}, ErrInvalidID},
	}
	for _, tc := range tests {
		// Sequential: each refusal must leave no event behind.
		_, err := s.svc.DeclareSoLR(ctx, tc.who, tc.req)
		s.wantRefusal(err, tc.want, ActDeclareSoLR)
		if n := s.records(records.KindEvent); n != 0 {
			t.Fatalf("%s: %d events recorded after a refusal", tc.name, n)
		}
	}
	// A second open event for the same party is refused.
	s.declare(s.liaison, nil, nil)
	_, err := s.svc.DeclareSoLR(ctx, s.admin, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "Y"})
	s.wantRefusal(err, ErrExists, ActDeclareSoLR)
}

func TestDeclareDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	seq := s.revocationSeq()
	res, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "OFGEM-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Event.State != bundle.EventDeclared || res.Event.DeclaredBy != "liaison" {
		t.Fatalf("event %+v", res.Event)
	}
	d := res.DryRun
	if d == nil || len(d.Certificates) != 1 || d.Certificates[0].Serial != s.isSerial {
		t.Fatalf("dry run certificates %+v, want exactly %s", d, s.isSerial)
	}
	if len(d.Devices) != 2 || len(d.SupplierUsers) != 1 || d.SupplierUsers[0] != s.userIS {
		t.Fatalf("dry run devices %+v supplier users %v", d.Devices, d.SupplierUsers)
	}
	if s.revocationSeq() != seq || s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatal("declaring revoked something")
	}
	p, _ := s.svc.GetParty(ctx, s.admin, s.supplier)
	if p.Status != store.StatusActive {
		t.Fatalf("party is %s before approval", p.Status)
	}
	// The SRP's own ARO sees the event; the supplier's ARO does not.
	if r, err := s.svc.GetSoLR(ctx, s.aroSR, res.Event.ID); err != nil || len(r.DryRun.Devices) != 2 || len(r.DryRun.Certificates) != 0 {
		t.Fatalf("SRP ARO's view: %+v %v", r.DryRun, err)
	}
	_, err = s.svc.GetSoLR(ctx, s.aroSup, res.Event.ID)
	s.wantHidden(err, ActReadSoLR)
	if es, err := s.svc.ListSoLR(ctx, s.aroSup); err != nil || len(es) != 0 {
		t.Fatalf("supplier ARO lists %v, %v", es, err)
	}
}

// TestApproveNowCutsOffThenRevokes: an approval with the revocation due now
// cuts the party off, then revokes each certificate (ORL reissued) before
// it returns (solr.Service.Approve).
func TestApproveNowCutsOffThenRevokes(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	e := s.declare(s.admin, nil, nil)

	// Four-eyes: the declarer may not approve, whatever their kind; nor may
	// anyone who is not an ra-approver.
	_, err := s.svc.ApproveSoLR(ctx, s.admin, e.ID)
	s.wantRefusal(err, ErrFourEyes, ActApproveSoLR)
	_, err = s.svc.ApproveSoLR(ctx, s.liaison, e.ID)
	s.wantRefusal(err, ErrForbidden, ActApproveSoLR)
	_, err = s.svc.ApproveSoLR(ctx, s.approver, "solr-none")
	s.wantRefusal(err, ErrNotFound, ActApproveSoLR)
	if s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatal("a refused approval revoked")
	}

	seq := s.revocationSeq()
	res, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Event.State != bundle.EventActive || res.Event.ApprovedBy != "approver" || len(res.Event.Revoked) != 1 {
		t.Fatalf("approved event %+v", res.Event)
	}
	c := s.certStatus(s.isSerial)
	if c.Status != store.StatusRevoked || c.Reason != reasonCessation || c.RevocationSeq != seq+1 {
		t.Fatalf("IS certificate after approval: %s reason %d seq %d", c.Status, c.Reason, c.RevocationSeq)
	}
	if s.certStatus(s.scSerial).Status != store.StatusGood {
		t.Fatal("the SRP's certificate was revoked")
	}
	p, _ := s.svc.GetParty(ctx, s.admin, s.supplier)
	if p.Status != PartyFailed {
		t.Fatalf("party is %s, want failed", p.Status)
	}
	// The ORL reissued in the same transaction lists the serial.
	orl, err := s.ca.CRL(ctx, "orl")
	if err != nil {
		t.Fatal(err)
	}
	if !crlLists(t, orl, s.isSerial) {
		t.Fatal("ORL does not list the revoked certificate")
	}
	if x := s.lastAudit(ActRevokeFailed); x.Actor != "approver" || x.Result != "allowed" {
		t.Fatalf("revocation audit %+v", x)
	}
	_, err = s.svc.ApproveSoLR(ctx, s.approver, e.ID)
	s.wantRefusal(err, ErrEventState, ActApproveSoLR)
	// A failed party gets no new certificates.
	_, err = s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: "xml-signing",
		CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, "IS", "xml-signing"), Mode: ModeEnrol})
	if CodeOf(err) != ErrInactive.Error() {
		t.Fatalf("enrol for a failed party: %v", err)
	}
}

func TestScheduledRevocationRunsOnceAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	at := ratest.Start.Add(2 * time.Hour)
	e := s.declare(s.liaison, &at, nil)
	res, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Event.State != bundle.EventApproved || res.Event.JobID == "" || res.DryRun == nil || len(res.DryRun.Certificates) != 1 {
		t.Fatalf("approved event %+v dry run %+v", res.Event, res.DryRun)
	}
	if s.records(records.KindSchedule) != 1 || s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatal("approval did not just schedule")
	}
	// Not due yet.
	s.clock.Set(at.Add(-time.Second))
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if s.certStatus(s.isSerial).Status != store.StatusGood {
		t.Fatal("revoked before its time")
	}
	// "Restart": a new Service over the same store and CA finds the job.
	svc2, err := New(s.st, s.ca, s.svc.Access(), WithClock(s.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Set(at)
	seq := s.revocationSeq()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 { // concurrent runners: the job still runs once
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				errs <- svc2.RunDue(ctx)
			} else {
				errs <- s.svc.RunDue(ctx)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.revocationSeq(); got != seq+1 {
		t.Fatalf("revocation sequence %d -> %d, want exactly one revocation", seq, got)
	}
	if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || c.Reason != reasonCessation {
		t.Fatalf("after due: %s %d", c.Status, c.Reason)
	}
	if s.records(records.KindSchedule) != 0 || s.records(records.KindScheduleLog) != 1 {
		t.Fatal("job not moved to the log")
	}
	got, err := s.svc.GetSoLR(ctx, s.admin, e.ID)
	if err != nil || got.Event.State != bundle.EventActive || got.DryRun != nil {
		t.Fatalf("event after the job: %+v %v", got, err)
	}
	if x := s.lastAudit(ActRevokeFailed); x.Actor != schedulerActor {
		t.Fatalf("revocation audited as %q", x.Actor)
	}
	if err := svc2.RunDue(ctx); err != nil || s.revocationSeq() != seq+1 {
		t.Fatalf("a second pass revoked again: %v", err)
	}
}

func TestCloseCancelsScheduleAndEndCloses(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	at := ratest.Start.Add(time.Hour)
	e := s.declare(s.liaison, &at, nil)
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.svc.CloseSoLR(ctx, s.aroSR, e.ID, "")
	s.wantRefusal(err, ErrForbidden, ActCloseSoLR)
	closed, err := s.svc.CloseSoLR(ctx, s.liaison, e.ID, "instruction OFGEM-END")
	if err != nil || closed.State != bundle.EventClosed || closed.ClosedBy != "liaison" {
		t.Fatalf("close: %+v %v", closed, err)
	}
	_, err = s.svc.CloseSoLR(ctx, s.liaison, e.ID, "")
	s.wantRefusal(err, ErrEventState, ActCloseSoLR)
	s.clock.Set(at.Add(time.Minute))
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if s.certStatus(s.isSerial).Status != store.StatusGood || s.records(records.KindSchedule) != 0 {
		t.Fatal("a closed event's revocation still ran")
	}

	// An event with an end time is closed by the scheduler once it passes
	// (the other supplier's, in the same RA).
	s.clock.Set(ratest.Start)
	end := ratest.Start.Add(30 * time.Minute)
	res, err := s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.otherSupplier, SRPUser: s.userSC,
		Instruction: "OFGEM-SOLR-TEST-2", End: &end})
	if err != nil {
		t.Fatal(err)
	}
	e2 := res.Event
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, e2.ID); err != nil {
		t.Fatal(err)
	}
	s.clock.Set(end.Add(-time.Second))
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.svc.GetSoLR(ctx, s.admin, e2.ID); r.Event.State != bundle.EventActive {
		t.Fatalf("closed before its end: %s", r.Event.State)
	}
	s.clock.Set(end)
	if err := s.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := s.svc.GetSoLR(ctx, s.admin, e2.ID)
	if r.Event.State != bundle.EventClosed || r.Event.ClosedBy != schedulerActor {
		t.Fatalf("after end: %+v", r.Event)
	}
}

// fakeLocker refuses or grants the scheduler lock.
type fakeLocker struct{ ok bool }

func (l fakeLocker) TryLock(context.Context) (func(), bool, error) { return func() {}, l.ok, nil }

func TestSchedulerLocker(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	at := ratest.Start.Add(time.Minute)
	e := s.declare(s.liaison, &at, nil)
	if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
		t.Fatal(err)
	}
	s.clock.Set(at)
	for _, tc := range []struct {
		ok   bool
		want store.CertStatus
	}{{false, store.StatusGood}, {true, store.StatusRevoked}} {
		svc, err := New(s.st, s.ca, s.svc.Access(), WithClock(s.clock.Now), WithLocker(fakeLocker{tc.ok}))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if got := s.certStatus(s.isSerial).Status; got != tc.want {
			t.Fatalf("lock %v: certificate %s, want %s", tc.ok, got, tc.want)
		}
	}
}

// TestDeclareDryRunSummarises: however many certificates the failed party
// holds, the dry run carries their count, per user and per profile, a
// sample of at most DryRunSample and the URL listing every one (issue 20:
// a full list made a 50,000-certificate declaration outgrow the client).
func TestDeclareDryRunSummarises(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	const extra = DryRunSample + 5
	err := s.st.Update(context.Background(), func(tx store.Tx) error {
		for i := range extra {
			prof := ca.XMLSigning
			if i%5 == 0 {
				prof = ca.KeyAgreement
			}
			if err := tx.PutCertificate(store.Certificate{Serial: fmt.Sprintf("7b%030x", i), Issuer: ca.IssuerIssuing,
				UserID: s.userIS.String(), PartyID: s.supplier.String(), Profile: string(prof), Role: "IS",
				NotBefore: ratest.Start, NotAfter: ratest.Start.AddDate(1, 0, 0), IssuedAt: ratest.Start, DER: []byte{0x30, 0}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.svc.DeclareSoLR(context.Background(), s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC,
		Instruction: "OFGEM-SOLR-TEST-1"})
	if err != nil {
		t.Fatal(err)
	}
	d := res.DryRun
	wantProf := map[string]int{string(ca.XMLSigning): 1 + extra - 5, string(ca.KeyAgreement): 5}
	if d.CertificateCount != extra+1 || len(d.Certificates) != DryRunSample ||
		!maps.Equal(d.ByUser, map[string]int{s.userIS.String(): extra + 1}) || !maps.Equal(d.ByProfile, wantProf) ||
		d.CertificatesURL != "/v1/certificates?party_id="+s.supplier.String()+"&status=good" || d.DeviceCount != 2 {
		t.Fatalf("dry run %d certificates (%d listed) by user %v by profile %v (want %v) url %q devices %d",
			d.CertificateCount, len(d.Certificates), d.ByUser, d.ByProfile, wantProf, d.CertificatesURL, d.DeviceCount)
	}
	// The audit record counts all of them, not the sample.
	if a := s.lastAudit(ActDeclareSoLR); !strings.Contains(a.Detail, fmt.Sprintf("would_revoke=%d devices=2", extra+1)) {
		t.Fatalf("audit detail %q", a.Detail)
	}
}
