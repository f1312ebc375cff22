package ra

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// betweenIssuer is the CA with a hook run after the RA's enrolment checks
// passed and before the CA issues: the window of the race.
type betweenIssuer struct {
	*ca.CA
	between func()
}

func (b betweenIssuer) Issue(ctx context.Context, req ca.IssueRequest) (*x509.Certificate, store.Certificate, error) {
	b.between()
	return b.CA.Issue(ctx, req)
}

// noGoodCertificates fails t if party still has a good certificate or any
// intent is open.
func noGoodCertificates(t *testing.T, st store.Store, party string) {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Tx) error {
		good, err := tx.ListCertificates(store.CertFilter{PartyID: party, Status: store.StatusGood})
		if err != nil {
			return err
		}
		for _, c := range good {
			t.Errorf("certificate %s of failed party %s is good after its SoLR revocation", c.Serial, party)
		}
		open, err := tx.OpenIntents()
		if err != nil {
			return err
		}
		if len(open) != 0 {
			t.Errorf("%d intents open: %+v", len(open), open)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEnrolRacingPartyFailure (issue 13): a party declared failed, and its
// certificates revoked, after an enrolment's checks passed but before the
// CA recorded the certificate, on both engines. The CA re-checks the party
// in the recording transaction (on PostgreSQL after the group's writes
// were sent, which a refusal rolls back and runs again with the check
// first), so the enrolment is refused (E_RA_INACTIVE), its intent failed,
// and the party has no good certificate afterwards.
func TestEnrolRacingPartyFailure(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t, open(t)...)
			ctx := context.Background()
			e := s.declare(s.liaison, nil, nil) // revoke at approval
			var approved atomic.Bool
			s.svc.issuer = betweenIssuer{CA: s.ca, between: func() {
				if approved.Swap(true) {
					return
				}
				if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
					t.Errorf("approve: %v", err)
				}
			}}
			_, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
				CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
			if !approved.Load() {
				t.Fatal("the approval did not run in the window")
			}
			if !errors.Is(err, ErrInactive) {
				t.Fatalf("enrolment whose party failed before its certificate was recorded = %v, want %v", err, ErrInactive)
			}
			if got := CodeOf(err); got != ErrInactive.Error() {
				t.Errorf("code %s, want %s", got, ErrInactive)
			}
			noGoodCertificates(t, s.st, s.supplier.String())
		})
	}
}

// raceEngines opens the store of each engine a race test runs on: bbolt
// (the scenario's own) and PostgreSQL (a schema of its own).
var raceEngines = map[string]func(t *testing.T) []store.Store{
	"bolt": func(*testing.T) []store.Store { return nil },
	"postgres": func(t *testing.T) []store.Store {
		st, err := postgres.Open(context.Background(), pgtest.SchemaURL(t))
		if err != nil {
			t.Fatal(err)
		}
		return []store.Store{st}
	},
}

// TestEnrolConcurrentWithPartyFailure: 8 officers' clients enrol into a
// party at full speed while the party is declared failed and revoked at
// approval, on both engines. Whatever the interleaving, every
// certificate of the party is revoked afterwards and no intent is open:
// each enrolment either committed before the approval listed the party's
// certificates (and was revoked with them) or was refused.
func TestEnrolConcurrentWithPartyFailure(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSoLRScenario(t, open(t)...)
			ctx := context.Background()
			e := s.declare(s.liaison, nil, nil)
			const clients = 8
			var issued, refused atomic.Int32
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						_, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
							CSR: ratest.CSR(t, ratest.NewKey(t), s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
						switch {
						case err == nil:
							issued.Add(1)
						case errors.Is(err, ErrInactive):
							refused.Add(1)
							return // the party has failed: no later enrolment can pass
						default:
							t.Errorf("enrol: %v", err)
							return
						}
					}
				}()
			}
			time.Sleep(300 * time.Millisecond) // enrolment at full speed
			if _, err := s.svc.ApproveSoLR(ctx, s.approver, e.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			close(stop)
			wg.Wait()
			noGoodCertificates(t, s.st, s.supplier.String())
			t.Logf("%d enrolments issued, %d refused after the approval", issued.Load(), refused.Load())
		})
	}
}
