package ca

import "context"

// RevokeProgressFunc observes a revocation as it runs inside its
// transaction: done of total serials have been marked revoked, not yet
// committed. It is called from the revoking goroutine, at most once per
// revokeProgressStep serials and once when all are marked, so it must not
// block for long.
type RevokeProgressFunc func(done, total int)

// revokeProgressStep bounds how often a RevokeProgressFunc is called, and
// is how many serials one store.Tx.RevokeMany call revokes: 2048 keeps a
// 100,000-serial revocation to about 50 statements on PostgreSQL (one
// round trip each) while still reporting progress about 50 times.
const revokeProgressStep = 2048

type revokeProgressKey struct{}

// WithRevokeProgress returns a context that makes Revoke report its
// progress to fn. Like net/http/httptrace, the observer travels in the
// context because it is request-scoped and optional: the revocation itself
// does not depend on it.
func WithRevokeProgress(ctx context.Context, fn RevokeProgressFunc) context.Context {
	return context.WithValue(ctx, revokeProgressKey{}, fn)
}

func revokeProgressFrom(ctx context.Context) RevokeProgressFunc {
	fn, _ := ctx.Value(revokeProgressKey{}).(RevokeProgressFunc)
	return fn
}
