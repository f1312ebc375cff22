package ra

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store/postgres"
)

// TestEnrolRoundTripsOnPostgres: an officer's request authenticated and
// an enrolment made through the Service on PostgreSQL take 6 sequential
// round trips: authentication 1 (its officer read ahead, with BEGIN and
// COMMIT), the enrolment's checks 1 (officer, user, party and key read
// ahead), and 2 in each group transaction (the intent's; the
// certificate's, with the checks made again, answered from a read ahead
// of the same rows sent with the group's writes, and its audit entry). A
// renewal takes one more, in the certificate's transaction: the record of
// the certificate it replaces, written in a statement of its own (its
// checks also read the replaced certificate and that record, read ahead).
// A read outside what the Views and groups read ahead would make one run
// again or add one, and a new statement in a group would add one: either
// fails here (docs/operations.md, "Network distance to the database").
// The second enrolment and renewal are counted (the first prepares the
// statements).
func TestEnrolRoundTripsOnPostgres(t *testing.T) {
	t.Parallel()
	rt := &pgtest.RoundTrips{}
	st, err := postgres.Open(context.Background(), pgtest.SchemaURL(t), postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = rt
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario(t, st)
	ctx := rt.Counted(context.Background())
	for i := range 2 {
		n0 := rt.N()
		a, err := s.svc.Authenticate(ctx, s.aroSup.cert)
		if err != nil {
			t.Fatal(err)
		}
		auth := rt.N() - n0
		k := ratest.NewKey(t)
		x, err := s.svc.Enrol(ctx, a, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
			CSR: ratest.CSR(t, k, s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
		if err != nil {
			t.Fatal(err)
		}
		if total := rt.N() - n0; i == 1 && (auth != 1 || total != 6) {
			t.Errorf("authentication %d round trips, with the enrolment %d; want 1 and 6", auth, total)
		}
		n0 = rt.N()
		if _, err := s.svc.Enrol(ctx, a, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
			CSR: ratest.CSR(t, k, s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeRenew, Replaces: x.Cert.Serial}); err != nil {
			t.Fatal(err)
		}
		if renew := rt.N() - n0; i == 1 && renew != 6 {
			t.Errorf("a renewal (authenticated) took %d round trips, want 6", renew)
		}
	}
}
