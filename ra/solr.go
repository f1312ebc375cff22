package ra

import (
	"context"
	"time"

	"github.com/smki/smki/ra/solr"
	"github.com/smki/smki/store"
)

// SoLR events and their scheduler are ra/solr's workflow; ra binds each
// call to the authenticated officer (session: every step is ra's audited
// decision, in one transaction with its record) and keeps these names.

// TxRevoker is the part of the CA that revokes inside a caller's
// transaction (solr.TxRevoker); *ca.CA satisfies it.
type TxRevoker = solr.TxRevoker

// Locker lets one of several RA instances sharing a store run scheduled
// work (solr.Locker).
type Locker = solr.Locker

type (
	// DeclareRequest records an Authority instruction (solr.DeclareRequest).
	DeclareRequest = solr.DeclareRequest
	// DryRun is what an event's revocation would revoke (solr.DryRun).
	DryRun = solr.DryRun
	// EventResult is an event with its dry run while to come (solr.EventResult).
	EventResult = solr.EventResult
)

// DryRunSample is how many certificates and devices a dry run lists.
const DryRunSample = solr.DryRunSample

// WithLocker sets the Locker RunDue takes before doing anything. Without
// one the process is assumed to be the store's only writer (bbolt holds
// its file lock), and correctness never depends on it: every job's state
// changes in the transaction that does its work, so a second runner finds
// the job already done.
func WithLocker(l Locker) Option { return func(s *Service) { s.locker = l } }

// newSoLR builds the SoLR workflow over s (called once by New).
func (s *Service) newSoLR() *solr.Service {
	return solr.New(solr.Env{
		Store: func() store.Store { return s.st },
		Revoker: func() (solr.TxRevoker, bool) {
			rv, ok := s.issuer.(solr.TxRevoker)
			return rv, ok
		},
		Now:        func() time.Time { return s.now() },
		Log:        s.log,
		Locker:     s.locker,
		Backoff:    &s.backoff,
		Entry:      s.entry,
		Refused:    s.refused,
		ActiveUser: activeUserAndParty,
	})
}

// DeclareSoLR records a SoLR event in state "declared" and returns it with
// the dry run of its revocation (solr.Service.Declare says who may and
// what must hold).
func (s *Service) DeclareSoLR(ctx context.Context, a Actor, req DeclareRequest) (EventResult, error) {
	return s.solr.Declare(ctx, session{s, a}, req)
}

// ApproveSoLR is the second person's approval (four-eyes;
// solr.Service.Approve) of the event's certificates as they stand.
func (s *Service) ApproveSoLR(ctx context.Context, a Actor, id string) (EventResult, error) {
	return s.solr.Approve(ctx, session{s, a}, id, "")
}

// ApproveSoLRAsShown is ApproveSoLR of the dry run the approver was
// shown: certificatesSHA256 is its DryRun.CertificatesSHA256 (empty: as
// ApproveSoLR), and the approval is ErrDryRunChanged, changing nothing,
// if the failed party's certificates are no longer that set.
func (s *Service) ApproveSoLRAsShown(ctx context.Context, a Actor, id, certificatesSHA256 string) (EventResult, error) {
	return s.solr.Approve(ctx, session{s, a}, id, certificatesSHA256)
}

// CloseSoLR closes an open event on the Authority's instruction
// (solr.Service.Close).
func (s *Service) CloseSoLR(ctx context.Context, a Actor, id, reason string) (SoLREvent, error) {
	return s.solr.Close(ctx, session{s, a}, id, reason)
}

// GetSoLR returns one event, with the dry run while its revocation is to
// come (solr.Service.Get).
func (s *Service) GetSoLR(ctx context.Context, a Actor, id string) (EventResult, error) {
	return s.solr.Get(ctx, session{s, a}, id)
}

// ListSoLR returns the events the officer may read, oldest first
// (solr.Service.List).
func (s *Service) ListSoLR(ctx context.Context, a Actor) ([]SoLREvent, error) {
	return s.solr.List(ctx, session{s, a})
}

// RunScheduler calls RunDue every period until ctx ends, logging failures.
func (s *Service) RunScheduler(ctx context.Context, every time.Duration) {
	s.solr.RunScheduler(ctx, every)
}

// RunDue runs every scheduled job due at the service clock, then closes
// every event whose end has passed (solr.Service.RunDue).
func (s *Service) RunDue(ctx context.Context) error { return s.solr.RunDue(ctx) }

// PendingJobs returns the scheduled jobs not yet run, in due order.
func (s *Service) PendingJobs(ctx context.Context) ([]Job, error) { return s.solr.PendingJobs(ctx) }
