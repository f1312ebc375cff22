package ca

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// doubtStore injects one fault into the next transaction that records a
// certificate (issuance's step 8), as a store over a network sees it.
type doubtStore struct {
	store.Store
	fault atomic.Pointer[doubtFault]
}

type doubtFault struct {
	commit bool  // the change commits before err is returned
	err    error // what the caller gets
}

type putSpy struct {
	store.Tx
	put *bool
}

func (p putSpy) PutCertificate(c store.Certificate) error {
	*p.put = true
	return p.Tx.PutCertificate(c)
}

func (d *doubtStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	var fault *doubtFault
	err := d.Store.Update(ctx, func(tx store.Tx) error {
		put := false
		if err := fn(putSpy{tx, &put}); err != nil {
			return err
		}
		if put {
			fault = d.fault.Swap(nil)
		}
		if fault != nil && !fault.commit {
			return fault.err // rolled back
		}
		return nil
	})
	if err == nil && fault != nil {
		return fault.err // committed, but the caller cannot know
	}
	return err
}

// TestRecordInDoubtSettledAtOnce: when the transaction recording a signed
// certificate fails with an unknown outcome (store.ErrInDoubt: the
// connection was lost during COMMIT) or a transient error, Issue re-reads
// the intent in a new transaction at once: if the commit landed, the
// certificate is returned; if not, it is recorded then. When the store
// refused the certificate, the intent is failed at once. In every case no
// intent is left open for reconciliation and nothing is recorded twice.
func TestRecordInDoubtSettledAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fault   doubtFault
		refused error // nil: Issue succeeds
	}{
		{"committed, outcome lost", doubtFault{commit: true, err: fmt.Errorf("commit: %w", store.ErrInDoubt)}, nil},
		{"rolled back, outcome lost", doubtFault{err: fmt.Errorf("commit: %w", store.ErrInDoubt)}, nil},
		{"contention outlasting retries", doubtFault{err: fmt.Errorf("gave up: %w", store.ErrConflict)}, nil},
		{"caller gone", doubtFault{err: context.Canceled}, nil},
		{"refused by the store", doubtFault{err: fmt.Errorf("put: %w", store.ErrDuplicateKey)}, store.ErrDuplicateKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ds := &doubtStore{Store: openBolt(t, dir)}
			e := newEnvOn(t, ds, dir, "")
			ctx := context.Background()
			_, certs0, audit0 := counts(t, ds)
			f := tc.fault
			ds.fault.Store(&f)
			_, csr := newCSR(t, nil)
			req := issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency)
			req.Audit = []store.AuditEntry{{Actor: "officer:t", Action: "cert.enrol", Subject: "user:" + userSC.String(), Result: "allowed"}}
			cert, rec, err := e.ca.Issue(ctx, req)
			if ds.fault.Load() != nil {
				t.Fatal("the fault was not injected")
			}
			var open []store.Intent
			if err := ds.View(ctx, func(tx store.Tx) (err error) { open, err = tx.OpenIntents(); return }); err != nil {
				t.Fatal(err)
			}
			if len(open) != 0 {
				t.Errorf("%d intents left open for reconciliation: %+v", len(open), open)
			}
			_, certs, audit := counts(t, ds)
			if tc.refused != nil {
				if !errors.Is(err, tc.refused) || cert != nil {
					t.Fatalf("Issue = %v, %v; want %v and no certificate", cert, err, tc.refused)
				}
				if certs != certs0 || audit != audit0 {
					t.Errorf("refused: %d certificates (was %d), %d audit entries (was %d)", certs, certs0, audit, audit0)
				}
				return
			}
			if err != nil || cert == nil {
				t.Fatalf("Issue = %v; want the certificate, settled", err)
			}
			assertIntent(t, ds, rec.Serial, store.IntentCompleted)
			if certs != certs0+1 || audit != audit0+1 {
				t.Errorf("%d certificates (was %d), %d audit entries (was %d); want each recorded once",
					certs, certs0, audit, audit0)
			}
		})
	}
}
