package ra

import (
	"context"
	"crypto/x509"

	"github.com/smki/smki/store"
)

// session is one authenticated officer bound to the RA's audited
// decisions (change, urgentChange, read, refusedOf): what ra/solr and
// ra/registry get instead of an Actor, so that every step they take is
// one of ra's transactions with its audit record, as this officer.
type session struct {
	s *Service
	a Actor
}

func (x session) ID() string { return x.a.id }

func (x session) Change(ctx context.Context, act Action, subject string, fn func(store.Tx, store.Officer) (string, error)) error {
	return x.s.change(ctx, x.a, act, subject, fn)
}

func (x session) Urgent(ctx context.Context, act Action, subject string, fn func(store.Tx, store.Officer) (string, error)) error {
	return x.s.urgentChange(ctx, x.a, act, subject, fn)
}

func (x session) Read(ctx context.Context, act Action, subject string, fn func(store.Tx, store.Officer) error) error {
	return x.s.read(ctx, x.a, act, subject, fn)
}

func (x session) Refused(ctx context.Context, act Action, subject string, cause error) {
	x.s.refusedOf(ctx, x.a, act, subject, cause)
}

// Cert is the access certificate the session's officer authenticated with.
func (x session) Cert() *x509.Certificate { return x.a.cert }
