package verifier

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestFollowerWithoutVerifier: a Follower built without its Verifier (an
// embedder's mistake) says so with E_VERIFIER_CONFIG from each call that
// needs one, instead of a nil pointer panic in the embedder's process.
// FetchBundle needs none and still works as documented.
func TestFollowerWithoutVerifier(t *testing.T) {
	t.Parallel()
	f := &Follower{BaseURL: "https://127.0.0.1:1"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := map[string]func() error{
		"Run":             func() error { return f.Run(ctx) },
		"SyncBundle":      func() error { _, err := f.SyncBundle(ctx); return err },
		"SyncRevocations": func() error { _, err := f.SyncRevocations(ctx); return err },
		"CatchUp":         func() error { return f.CatchUp(ctx) },
	}
	for name, call := range calls {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return call()
		}()
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s on a Follower without a Verifier: %v, want %v", name, err, ErrConfig)
		}
	}
}
