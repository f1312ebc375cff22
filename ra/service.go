package ra

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/accessguard"
	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/internal/jobbackoff"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/publish"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/registry"
	"github.com/smki/smki/ra/solr"
	"github.com/smki/smki/store"
)

// Issuer is what the RA uses of the CA (Boulder style: a narrow seam).
// *ca.CA satisfies it. Issue records the certificate and appends
// req.Audit in one transaction; Revoke revokes every serial, appends
// audit and reissues the ORL in one transaction.
type Issuer interface {
	Issue(ctx context.Context, req ca.IssueRequest) (*x509.Certificate, store.Certificate, error)
	Revoke(ctx context.Context, serials []string, reason int, at time.Time, audit ...store.AuditEntry) ([]store.Revocation, error)
}

// Service is the registration authority. It is safe for concurrent use.
type Service struct {
	st store.Store
	// engine is the store as given to New, without the Service's
	// wrappers: its optional capabilities (store.Backuper) are asked of it.
	engine store.Store
	issuer Issuer
	access *ownpki.AccessCA
	now    func() time.Time
	log    *slog.Logger

	// signer signs what the RA publishes (bundle, feed); nil: not published.
	signer *ownpki.SystemSigner
	// noSigner is why signer is nil, when the server knows (WithoutSystemSigner).
	noSigner error
	// locker makes scheduled work run on one instance only; nil: this
	// process is the only one (bbolt holds the file lock).
	locker Locker
	// bundleMaxAge is the max_age of exported bundles (default 24h).
	bundleMaxAge time.Duration

	// reg keeps the device registry, ADT files and allow-lists (ra/registry).
	reg *registry.Service
	// solr runs SoLR events and their scheduled revocations (ra/solr).
	solr *solr.Service
	// pub builds and signs the bundle and the feed (ra/publish).
	pub *publish.Publisher
	// feed wakes held revocation-feed requests (feed.go, ra/internal/feedhub).
	feed feedhub.Hub
	// backoff spaces out retries of failing scheduled jobs.
	backoff jobbackoff.Backoff
	// officerCSRRequired: appointments must carry the appointee's CSR.
	officerCSRRequired bool

	// acl is the access CA's signed list of revoked officer credentials,
	// refusals coalesces refused authentications (issue 12 finding 8).
	acl      *accessguard.List
	refusals *accessguard.Coalescer
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock used for audit times and validity checks
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the structured logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithSystemSigner sets the RA's system signer (OU=89), which signs the
// policy bundle and the revocation feed. Without it those are refused
// with ErrSigner.
func WithSystemSigner(sig *ownpki.SystemSigner) Option { return func(s *Service) { s.signer = sig } }

// WithoutSystemSigner says why the RA runs with no system signer: no one
// could be made (the Issuing OCA has expired before one was, ErrCAExpired).
// The bundle and the feed are then refused with an error wrapping
// ErrNoSystemSigner and why, so that the answer carries why's code rather
// than E_RA_SIGNER's "not ready". It is ignored when a signer is set.
func WithoutSystemSigner(why error) Option { return func(s *Service) { s.noSigner = why } }

// signerMissing is the refusal of what needs the system signer when there
// is none: ErrNoSystemSigner with WithoutSystemSigner's reason, else
// ownpki.ErrSigner (not configured).
func (s *Service) signerMissing() error {
	if s.noSigner != nil {
		return fmt.Errorf("%w (%w), so the bundle and the feed are not published", ErrNoSystemSigner, s.noSigner)
	}
	return fmt.Errorf("%w: no system signer configured; the bundle and the feed are not published", ownpki.ErrSigner)
}

// WithOfficerCSRRequired makes the RA certify only officer keys their
// appointees generated (OfficerRequest.CSR), so that no officer ever holds
// another's key; appointments without a CSR fail with ErrCSRRequired. The
// bootstrap credentials made at first start are the one exception.
func WithOfficerCSRRequired() Option { return func(s *Service) { s.officerCSRRequired = true } }

// New returns a Service over st that issues through issuer and
// authenticates officers with access. All three are required.
func New(st store.Store, issuer Issuer, access *ownpki.AccessCA, opts ...Option) (*Service, error) {
	switch {
	case st == nil:
		return nil, fmt.Errorf("%w: ra.New: nil store", ErrBadRequest)
	case issuer == nil:
		return nil, fmt.Errorf("%w: ra.New: nil issuer", ErrBadRequest)
	case access == nil:
		return nil, fmt.Errorf("%w: ra.New: nil access CA", ErrBadRequest)
	}
	s := &Service{st: st, engine: st, issuer: issuer, access: access, now: time.Now, log: slog.New(slog.DiscardHandler),
		bundleMaxAge: DefaultBundleMaxAge}
	for _, o := range opts {
		o(s)
	}
	// A revocation inside a Service transaction wakes the held feed
	// requests once it has committed (ra/internal/feedhub).
	s.st = feedhub.Store{Store: s.st, Hub: &s.feed}
	// An officer write that retires a credential lists it on the access
	// CRL in the same transaction (ra/accessguard).
	s.acl = accessguard.NewList(s.access, s.now, s.log)
	s.refusals = accessguard.NewCoalescer(s.now, s.appendRefusal)
	s.st = s.acl.Watch(s.st)
	if s.now == nil || s.log == nil {
		return nil, fmt.Errorf("%w: ra.New: nil clock or logger", ErrBadRequest)
	}
	s.solr = s.newSoLR()
	s.reg = registry.New(func() time.Time { return s.now() })
	s.pub = publish.New(s.st, s.signer, s.now, s.log, s.bundleMaxAge, &s.feed)
	return s, nil
}

// Access returns the RA access CA (for the server's TLS configuration).
func (s *Service) Access() *ownpki.AccessCA { return s.access }

// Actor is an authenticated officer. Only Authenticate makes one, from a
// verified access certificate; nothing a caller sends can name another.
type Actor struct {
	id     string
	serial string
	system bool // the RA itself (bootstrap); never reachable over the API
	// cert is the verified access certificate the actor authenticated
	// with: what the actor signs (an ADT file) must verify with its key.
	cert *x509.Certificate
	// channel names the front end the actor acts through when it is not
	// the API ("console"); audit records carry it (channel.go).
	channel string
}

// ID returns the officer ID (the access certificate's CN).
func (a Actor) ID() string { return a.id }

// Authenticate returns the officer that cert identifies: cert must chain to
// the access root, its CN must name an officer whose current credential has
// cert's serial, and that officer must be active. A refusal is audited, coalesced per
// credential (refusedCredential). A store that fails to answer is no
// refusal and is not audited as one: the error says busy (E_RA_BUSY),
// unavailable (E_STORE_CLOSED) or internal, and the failure is logged.
func (s *Service) Authenticate(ctx context.Context, cert *x509.Certificate) (Actor, error) {
	if cert == nil {
		return Actor{}, fmt.Errorf("%w: no client certificate", ErrUnauthenticated)
	}
	a := Actor{id: cert.Subject.CommonName, serial: ownpki.SerialOf(cert), cert: cert}
	err := s.access.VerifyClient(cert)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	} else {
		err = s.st.View(ctx, func(tx store.Tx) error {
			// The one read, read ahead: on PostgreSQL the View is then one
			// round trip (the read with BEGIN and COMMIT), not two.
			if err := store.Prefetch(tx, store.ReadAhead{Officers: []string{a.id}}); err != nil {
				return err
			}
			_, err := s.activeActor(tx, a)
			return err
		})
	}
	if err != nil {
		if !refusesCredential(err) {
			// The store failed (contention, a lost connection, closing, a
			// fault): nothing was decided about the credential, so no
			// refusal of it is recorded; the caller is told busy or
			// unavailable (or internal) and may ask again.
			s.log.LogAttrs(ctx, slog.LevelError, "ra authentication undecided: the store failed", slog.String("officer", a.id),
				slog.String("serial", a.serial), slog.String("code", CodeOf(err)), slog.String("error", err.Error()))
			return Actor{}, err
		}
		s.refusedCredential(ctx, "unauthenticated:"+a.id, "serial:"+a.serial, err)
		return Actor{}, err
	}
	return a, nil
}

// refusesCredential reports whether err, from Authenticate, is a decision
// about the credential (not the access root's, no such officer, the
// officer removed, the credential superseded), which is audited as a
// refusal, rather than a failure of the RA's store to answer, which is
// not: class, not text, tells them apart (raerr.ClassOf).
func refusesCredential(err error) bool {
	c := ClassOf(err)
	return c == ClassUnauthenticated || c == ClassForbidden
}

// loadActor reloads a's officer inside tx: the credential must still be
// the officer's current one. Status is left to Authorize.
func (s *Service) loadActor(tx store.Tx, a Actor) (store.Officer, error) {
	if a.system {
		return store.Officer{ID: a.id, Kind: KindRAOperator, Status: store.StatusActive}, nil
	}
	if a.id == "" {
		return store.Officer{}, fmt.Errorf("%w: no officer", ErrUnauthenticated)
	}
	o, err := tx.GetOfficer(a.id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Officer{}, fmt.Errorf("%w: unknown officer %q", ErrUnauthenticated, a.id)
	}
	if err != nil {
		return store.Officer{}, fmt.Errorf("%w: load officer: %w", ErrInternal, err)
	}
	if o.CertSerial != a.serial {
		return store.Officer{}, fmt.Errorf("%w: officer %s: credential %s is superseded", ErrOfficerInactive, o.ID, a.serial)
	}
	return o, nil
}

// activeActor is loadActor for an officer that must be active now
// (Authenticate, Whoami): a suspended or removed one is
// ErrOfficerInactive.
func (s *Service) activeActor(tx store.Tx, a Actor) (store.Officer, error) {
	o, err := s.loadActor(tx, a)
	if err != nil {
		return store.Officer{}, err
	}
	if o.Status != store.StatusActive {
		return store.Officer{}, fmt.Errorf("%w: officer %s is %s", ErrOfficerInactive, o.ID, o.Status)
	}
	return o, nil
}

// entry builds an audit entry at the service clock.
func (s *Service) entry(actor string, act Action, subject, result, detail string) store.AuditEntry {
	return store.AuditEntry{Time: s.now().UTC(), Actor: actor, Action: string(act), Subject: subject, Result: result, Detail: detail}
}

// refused appends a refusal record in its own transaction (the refused
// change wrote nothing) and logs it. A failure to audit is logged: the
// caller still gets the original refusal. A refusal concealed from the
// caller (raerr.Conceal) is recorded as it really was. A change the RA
// failed to make rather than refused (the store busy, closed or failing,
// an internal fault: failedNotRefused) is recorded as "failed: CODE":
// nothing was decided about the request.
func (s *Service) refused(ctx context.Context, actor string, act Action, subject string, cause error) {
	code, detail := CodeOf(cause), cause.Error()
	if real := raerr.Real(cause); real != nil {
		// A party officer was told "not found" for another party's record
		// (authz.Hidden): the record says what happened, and what they
		// were told.
		code, detail = CodeOf(real), real.Error()+"; answered: "+detail
	}
	result, level, msg := "refused: "+code, slog.LevelWarn, "ra refused"
	if failedNotRefused(cause) {
		result, level, msg = "failed: "+code, slog.LevelError, "ra failed"
	}
	err := s.appendAfterReads(ctx, s.entry(actor, act, subject, result, detail))
	s.log.LogAttrs(ctx, level, msg, slog.String("actor", actor), slog.String("action", string(act)),
		slog.String("subject", subject), slog.String("code", code), slog.String("detail", detail))
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "ra audit append failed", slog.String("error", err.Error()))
	}
}

// failedNotRefused reports whether err is the RA failing to carry a
// request out (its store busy, closed, full or failing; an internal
// fault) rather than a decision against it: class, not text, tells them
// apart (raerr.ClassOf).
func failedNotRefused(err error) bool {
	switch ClassOf(err) {
	case ClassBusy, ClassUnavailable, ClassInternal:
		return true
	}
	return false
}

// appendAfterReads appends e to the audit chain in a transaction of its
// own, after every record already in the store's audit journal: an
// audited read's "allowed" record goes through the journal (Store.Audit)
// and reaches the chain when the journal is sealed, so without sealing
// first a read that happened before e could be chained after it (if the
// periodic seal ran between them), and the chain would not list them in
// the order they happened.
func (s *Service) appendAfterReads(ctx context.Context, e store.AuditEntry) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.st.SealAudit(ctx); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendAudit(e)
		return err
	})
}

// change runs one audited decision: in one transaction it reloads the
// actor and calls fn, which authorises and writes; on success it appends
// the "allowed" record in the same transaction. If fn fails, nothing of it
// is kept and the refusal is recorded in a transaction of its own.
func (s *Service) change(ctx context.Context, a Actor, act Action, subject string,
	fn func(tx store.Tx, me store.Officer) (detail string, err error)) error {
	return s.changeIn(ctx, s.st.Update, a, act, subject, fn)
}

// precheck runs a decision's checks (fn) as a in a read transaction,
// ahead of the work the decision needs done before its own transaction
// (signing a credential with the access CA's key): a refusal that does
// not need that work is given, and recorded as change records it, before
// any of it is done. It writes nothing when fn passes: the decision's
// change runs the same checks again on the state it commits on, and
// records the outcome.
func (s *Service) precheck(ctx context.Context, a Actor, act Action, subject string, fn func(tx store.Tx, me store.Officer) error) error {
	err := s.st.View(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		return fn(tx, me)
	})
	if err != nil {
		s.refusedOf(ctx, a, act, subject, err)
	}
	return err
}

// urgentChange is change in the store's urgent lane (Store.Urgent), for a
// change that may revoke (SoLR approval): issuance cannot make it fail or
// wait behind it, as for ca.Revoke.
func (s *Service) urgentChange(ctx context.Context, a Actor, act Action, subject string,
	fn func(tx store.Tx, me store.Officer) (detail string, err error)) error {
	return s.changeIn(ctx, s.st.Urgent, a, act, subject, fn)
}

func (s *Service) changeIn(ctx context.Context, run func(context.Context, func(store.Tx) error) error, a Actor, act Action, subject string,
	fn func(tx store.Tx, me store.Officer) (detail string, err error)) error {
	err := run(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		detail, err := fn(tx, me)
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(s.entryOf(a, act, subject, "allowed", detail))
		return err
	})
	if err != nil {
		s.refusedOf(ctx, a, act, subject, err)
		return err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "ra allowed", slog.String("actor", a.id), slog.String("action", string(act)),
		slog.String("subject", subject))
	return nil
}

// read runs an audited read decision: fn authorises and reads; a
// refusal is recorded as in change (issue 12 finding 10: a read never
// waits behind issuance commits).
func (s *Service) read(ctx context.Context, a Actor, act Action, subject string,
	fn func(tx store.Tx, me store.Officer) error) error {
	// The decision reads in a View; its "allowed" record goes through the
	// store's batched audit append (Store.Audit), durable before the read
	// returns, without waiting for or conflicting with any Update.
	err := s.st.View(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		return fn(tx, me)
	})
	if err == nil {
		if aerr := s.st.Audit(ctx, s.entryOf(a, act, subject, "allowed", "read")); aerr != nil {
			err = fmt.Errorf("%w: audit: %w", ErrInternal, aerr)
		}
	}
	if err != nil {
		s.refusedOf(ctx, a, act, subject, err)
		return err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "ra allowed", slog.String("actor", a.id), slog.String("action", string(act)),
		slog.String("subject", subject))
	return nil
}
