package ca

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestReconcileAfter: with ReconcileAfter set (several instances on one
// store), Open and Reconcile settle only intents at least that old, so a
// young intent (perhaps another instance's issuance in flight) is left
// alone until it ages; with zero, every open intent is settled.
func TestReconcileAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		after     time.Duration
		ages      map[string]time.Duration // serial -> age at Open
		wantOpen  []string                 // still open after Open
		advance   time.Duration
		wantLater int // settled by Reconcile after advance
	}{
		{"zero settles all", 0,
			map[string]time.Duration{"a1": 0, "a2": time.Hour}, nil, 0, 0},
		{"young left open", DefaultReconcileAfter,
			map[string]time.Duration{"b1": 0, "b2": time.Minute, "b3": 3 * time.Minute}, []string{"b1", "b2"}, 2 * time.Minute, 2},
		{"boundary is inclusive", time.Minute,
			map[string]time.Duration{"c1": time.Minute, "c2": time.Minute - time.Nanosecond}, []string{"c2"}, time.Nanosecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			now := e.clock.Now()
			err := e.st.Update(ctx, func(tx store.Tx) error {
				for s, age := range tc.ages {
					if err := tx.CreateIntent(store.Intent{Serial: s, Issuer: IssuerIssuing, Profile: string(XMLSigning),
						UserID: userSC.String(), CreatedAt: now.Add(-age), State: store.IntentOpen}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			cfg := e.cfg
			cfg.ReconcileAfter = tc.after
			c2, err := Open(ctx, e.st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			open := map[string]bool{}
			for _, s := range tc.wantOpen {
				open[s] = true
			}
			for s := range tc.ages {
				want := store.IntentFailed
				if open[s] {
					want = store.IntentOpen
				}
				assertIntent(t, e.st, s, want)
			}
			e.clock.Advance(tc.advance)
			n, err := c2.Reconcile(ctx)
			if err != nil || n != tc.wantLater {
				t.Fatalf("Reconcile after %v = %d, %v; want %d", tc.advance, n, err, tc.wantLater)
			}
			for s := range tc.ages {
				assertIntent(t, e.st, s, store.IntentFailed)
			}
		})
	}
	e := newEnv(t)
	cfg := e.cfg
	cfg.ReconcileAfter = -time.Second
	if _, err := Open(ctx, e.st, cfg); !errors.Is(err, ErrConfig) {
		t.Errorf("Open with a negative ReconcileAfter: %v, want ErrConfig", err)
	}
}

// settlingStore plays a reconciler on another instance: just before the
// Nth Update (Issue's final record transaction) it marks every open intent
// failed in a transaction of its own.
type settlingStore struct {
	store.Store
	n, at atomic.Int32
}

func (s *settlingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.n.Add(1) == s.at.Load() {
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			open, err := tx.OpenIntents()
			if err != nil {
				return err
			}
			for _, in := range open {
				if err := tx.SetIntentState(in.Serial, store.IntentFailed); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return s.Store.Update(ctx, fn)
}

// TestIssueRefusesSettledIntent: if the intent was marked failed between
// signing and recording, the final transaction records nothing (no
// certificate, no audit entry, the intent stays failed) and Issue returns
// ErrIntentSettled without a certificate.
func TestIssueRefusesSettledIntent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ss := &settlingStore{Store: openBolt(t, dir)}
	e := newEnvOn(t, ss, dir, "")
	ctx := context.Background()
	var auditBefore uint64
	_ = ss.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(1, 0)
		auditBefore = uint64(len(es))
		return err
	})
	ss.at.Store(ss.n.Load() + 2) // the intent is Update +1, the record Update +2
	_, csr := newCSR(t, nil)
	req := issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency)
	req.Audit = []store.AuditEntry{{Actor: "t", Action: "enrol", Subject: "s", Result: "allowed"}}
	cert, _, err := e.ca.Issue(ctx, req)
	if !errors.Is(err, ErrIntentSettled) || !errors.Is(err, ErrStore) || cert != nil {
		t.Fatalf("Issue = %v, %v; want ErrIntentSettled and no certificate", cert, err)
	}
	err = ss.View(ctx, func(tx store.Tx) error {
		certs, err := tx.ListCertificates(store.CertFilter{Issuer: IssuerIssuing})
		if err != nil {
			return err
		}
		if len(certs) != 0 {
			t.Errorf("%d certificates recorded for a settled intent", len(certs))
		}
		es, err := tx.AuditEntries(1, 0)
		if uint64(len(es)) != auditBefore {
			t.Errorf("audit grew from %d to %d", auditBefore, len(es))
		}
		open, _ := tx.OpenIntents()
		if len(open) != 0 {
			t.Errorf("%d intents open", len(open))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLiveReconcileSparesInFlight: with ReconcileAfter zero (a store only
// this process writes) Open settles every open intent, but Reconcile on a
// running CA leaves an intent younger than MinLiveReconcileAge alone (it
// may be an issuance of this process in flight) and settles it once old.
func TestLiveReconcileSparesInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cfg := e.cfg
	cfg.ReconcileAfter = 0
	c, err := Open(ctx, e.st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = e.st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateIntent(store.Intent{Serial: "f1", Issuer: IssuerIssuing, Profile: string(XMLSigning),
			UserID: userSC.String(), CreatedAt: e.clock.Now(), State: store.IntentOpen})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(MinLiveReconcileAge - time.Second)
	if n, err := c.Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("Reconcile of a young intent = %d, %v; want 0", n, err)
	}
	assertIntent(t, e.st, "f1", store.IntentOpen)
	e.clock.Advance(time.Second)
	if n, err := c.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("Reconcile once old = %d, %v; want 1", n, err)
	}
	assertIntent(t, e.st, "f1", store.IntentFailed)
}
