package verifier

import (
	"fmt"

	"github.com/smki/smki/bundle"
)

// An embedder's Verifier can be one New never made: a zero Verifier (a
// struct field, a var), or a nil *Verifier (New's error dropped). Such a
// Verifier has no trust anchors, bundle or Ledger. Every method fails
// closed on it: Verify rejects STALE (no data to decide on, as the
// sidecar answers while it has no verifier), NotReady says why, RouteAlert
// routes nowhere, the updates are refused ErrConfig, and the accessors
// report nothing held. Before, each panicked (a nil dereference), which
// in a command path takes down the process, or the connection, with it.

// notBuiltReason is what an unbuilt Verifier answers.
const notBuiltReason = "this Verifier was not made by verifier.New (a zero or nil Verifier holds no trust anchors and no bundle); " +
	"build it with verifier.New and check New's error"

// built reports whether v was made by New (its first bundle installed).
func (v *Verifier) built() bool { return v != nil && v.cur.Load() != nil }

// errNotBuilt is ErrConfig for an update of an unbuilt Verifier.
func errNotBuilt() error { return fmt.Errorf("%w: %s", ErrConfig, notBuiltReason) }

// notBuilt is the decision of an unbuilt Verifier.
func notBuilt() Decision { return Decision{Decision: Reject, Code: CodeSTALE, Reason: notBuiltReason} }

// errNilBundle and errNilPage: SetBundle(nil), AddRevocations(nil), as a
// fetch whose error was dropped gives.
func errNilBundle() error {
	return fmt.Errorf("%w: no bundle (nil): the bundle in force stays; check the error of what opened it", bundle.ErrBundleInvalid)
}

func errNilPage() error {
	return fmt.Errorf("%w: no feed page (nil): nothing applied; check the error of what opened it", bundle.ErrFeedInvalid)
}
