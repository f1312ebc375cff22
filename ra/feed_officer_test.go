package ra

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
)

// TestFeedHeldOfficerLosesAccess: a verifier's held feed request (its wait
// never elapses here) is answered with the refusal Authenticate would give,
// not with data, once the verifier is suspended or removed while it is
// held: the officer change itself cuts the hold, and a revocation
// committed after it does not reach the verifier.
func TestFeedHeldOfficerLosesAccess(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		change func(f *feedEnv, id string) error
	}{
		{"suspended", func(f *feedEnv, id string) error {
			_, err := f.svc.SetOfficerStatus(context.Background(), f.admin, id, "suspended")
			return err
		}},
		{"removed", func(f *feedEnv, id string) error {
			_, err := f.svc.RemoveOfficer(context.Background(), f.admin, id)
			return err
		}},
	} {
		for _, revokeToo := range []bool{false, true} {
			name := tt.name
			if revokeToo {
				name += ", then a revocation"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := newFeedEnv(t)
				ver := f.officer(f.admin, "verifier-1", KindVerifier, eui64.ID{})
				c := f.issue(t, 1)
				f.svc.feed.NewTimer = func(time.Duration) *time.Timer { return time.NewTimer(24 * time.Hour) }
				done := make(chan feedResult, 1)
				go func() {
					env, err := f.svc.Revocations(context.Background(), ver, 0, MaxFeedWait)
					done <- feedResult{env, err}
				}()
				waitFeedHeld(t, &f.svc.feed, 1)
				if err := tt.change(f, "verifier-1"); err != nil {
					t.Fatal(err)
				}
				if revokeToo {
					f.revoke(t, c[0].serial)
				}
				var r feedResult
				select {
				case r = <-done:
				case <-time.After(20 * time.Second): // a hang guard, not a speed check
					t.Fatal("the held request of a verifier no longer active was never answered")
				}
				if r.env != nil || !errors.Is(r.err, ErrOfficerInactive) {
					t.Fatalf("answered %d bytes, err %v; want no data and %s", len(r.env), r.err, CodeOf(ErrOfficerInactive))
				}
			})
		}
	}
}
