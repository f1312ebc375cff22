package ra

import (
	"context"
	"sync"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// TestSoLRConcurrentApproveAndClose: two sessions approve one event at
// the same instant (an approver's two terminals, a double submit), then
// two officers close it at the same instant, on both engines. Each time
// exactly one takes effect and the other is refused E_RA_EVENT_STATE
// naming the one that did; the failed party's certificate is revoked
// once (one revocation sequence number, one solr.revoke record); and the
// audit log holds one record per request: one allowed, one refused.
func TestSoLRConcurrentApproveAndClose(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t, open(t)...)
			ctx := context.Background()
			e := s.declare(s.liaison, nil, nil)
			seq := s.revocationSeq()

			// at runs each of fns at once and returns their errors.
			at := func(fns ...func() error) []error {
				errs := make([]error, len(fns))
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i, fn := range fns {
					wg.Add(1)
					go func() { defer wg.Done(); <-start; errs[i] = fn() }()
				}
				close(start)
				wg.Wait()
				return errs
			}
			// one checks exactly one of errs is nil and the others are
			// E_RA_EVENT_STATE, and that act has one allowed and one
			// refused record per request.
			one := func(what string, act Action, errs []error) {
				t.Helper()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case CodeOf(err) != ErrEventState.Error():
						t.Fatalf("%s: %v, want success or %v", what, err, ErrEventState)
					}
				}
				if ok != 1 {
					t.Fatalf("%s: %d succeeded (%v), want exactly 1", what, ok, errs)
				}
				if err := s.st.SealAudit(ctx); err != nil {
					t.Fatal(err)
				}
				allowed, refused := 0, 0
				for _, x := range ratest.AuditTail(t, s.st, 1<<20) {
					if x.Action != string(act) || x.Subject != "solr:"+e.ID {
						continue
					}
					if x.Result == "allowed" {
						allowed++
					} else {
						refused++
					}
				}
				if allowed != 1 || refused != len(errs)-1 {
					t.Fatalf("%s: %d allowed and %d refused %s records, want 1 and %d", what, allowed, refused, act, len(errs)-1)
				}
			}

			approve := func() error { _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); return err }
			one("two approvals at once", ActApproveSoLR, at(approve, approve))
			if c := s.certStatus(s.isSerial); c.Status != store.StatusRevoked || s.revocationSeq() != seq+1 {
				t.Fatalf("after two approvals: certificate %s, revocation sequence %d (was %d), want revoked once", c.Status, s.revocationSeq(), seq)
			}
			revokes := 0
			for _, x := range ratest.AuditTail(t, s.st, 1<<20) {
				if x.Action == string(ActRevokeFailed) && x.Result == "allowed" {
					revokes++
				}
			}
			if revokes != 1 {
				t.Fatalf("%d solr.revoke records, want 1", revokes)
			}

			closeAs := func(a Actor) func() error {
				return func() error { _, err := s.svc.CloseSoLR(ctx, a, e.ID, "instruction ended"); return err }
			}
			one("two closes at once", ActCloseSoLR, at(closeAs(s.liaison), closeAs(s.admin)))
			if got, err := s.svc.GetSoLR(ctx, s.admin, e.ID); err != nil || got.Event.State != bundle.EventClosed {
				t.Fatalf("event after the closes: %+v %v", got.Event, err)
			}
		})
	}
}
