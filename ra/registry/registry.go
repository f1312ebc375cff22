package registry

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/store"
)

// Session is one authenticated officer acting through the RA (ra binds it
// to the verified actor): Change runs fn in one transaction with the
// officer reloaded and its "allowed" record, Read runs and audits a read,
// Refused records a refusal in a transaction of its own. Cert is the
// access certificate the officer authenticated with: what it signs (an
// ADT file) must verify with its key.
type Session interface {
	ID() string
	Cert() *x509.Certificate
	Change(ctx context.Context, act authz.Action, subject string, fn func(tx store.Tx, me store.Officer) (detail string, err error)) error
	Read(ctx context.Context, act authz.Action, subject string, fn func(tx store.Tx, me store.Officer) error) error
	Refused(ctx context.Context, act authz.Action, subject string, cause error)
}

// Service keeps the registries. It is safe for concurrent use.
type Service struct {
	now func() time.Time
}

// New returns the registries dated by now.
func New(now func() time.Time) *Service { return &Service{now: now} }
