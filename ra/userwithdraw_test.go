package ra

import (
	"context"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// TestWithdrawUser: an ra-operator withdraws a User ID (a party's User
// Role). The dry run changes nothing; the withdrawal makes the user
// withdrawn and revokes every good certificate of it (privilegeWithdrawn)
// in one audited transaction, the ORL listing them; the user then gets no
// certificate and is not withdrawn twice; party officers may not, and
// another party's user is not there to them. On both store engines.
func TestWithdrawUser(t *testing.T) {
	t.Parallel()
	t.Run("bbolt", func(t *testing.T) {
		t.Parallel()
		testWithdrawUser(t, newSoLRScenario(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		st, err := postgres.Open(context.Background(), pgtest.SchemaURL(t))
		if err != nil {
			t.Fatal(err)
		}
		testWithdrawUser(t, newSoLRScenario(t, st))
	})
}

func testWithdrawUser(t *testing.T, s *solrScenario) {
	ctx := context.Background()
	second := s.enrolKey(t, ratest.NewKey(t)).Cert.Serial // the IS user's second certificate
	other := s.isSerial

	// Refusals: nothing changes, each audited.
	for _, tc := range []struct {
		name string
		who  Actor
		id   eui64.ID
		want error
	}{
		{"own party's SRO may not", s.sroSup, s.userIS, ErrForbidden},
		{"ARO may not", s.aroSup, s.userIS, ErrForbidden},
		{"approver may not", s.approver, s.userIS, ErrForbidden},
		{"unknown user", s.admin, eui64.MustParse("90-B3-D5-1F-30-0F-0F-0F"), ErrNotFound},
	} {
		_, err := s.svc.WithdrawUser(ctx, tc.who, tc.id, ReasonPrivilegeWithdrawn, true)
		s.wantRefusal(err, tc.want, ActWithdrawUser)
	}
	_, err := s.svc.WithdrawUser(ctx, s.sroSR, s.userIS, ReasonPrivilegeWithdrawn, true)
	s.wantHidden(err, ActWithdrawUser)
	if _, err := s.svc.WithdrawUser(ctx, s.admin, s.userIS, 6, true); CodeOf(err) != ErrBadReason.Error() {
		t.Fatalf("certificateHold: %v, want %v", err, ErrBadReason)
	}

	// The dry run lists, changes nothing, and is audited.
	seq := s.revocationSeq()
	dry, err := s.svc.WithdrawUser(ctx, s.admin, s.userIS, ReasonPrivilegeWithdrawn, false)
	if err != nil {
		t.Fatal(err)
	}
	if !dry.Revocation.DryRun || dry.Revocation.CertificateCount != 2 || dry.User.Status != store.StatusActive ||
		dry.Revocation.CertificatesURL != "/v1/certificates?user_id="+s.userIS.String()+"&status=good" {
		t.Fatalf("dry run: %+v", dry)
	}
	if s.revocationSeq() != seq || s.userStatus(s.userIS) != store.StatusActive || s.certStatus(other).Status != store.StatusGood {
		t.Fatal("the dry run changed something")
	}
	if a := s.lastAudit(ActWithdrawUser); a.Result != "allowed" || !strings.HasPrefix(a.Detail, "dry-run role=IS") {
		t.Fatalf("dry run audit: %+v", a)
	}

	// The withdrawal.
	w, err := s.svc.WithdrawUser(ctx, s.admin, s.userIS, ReasonPrivilegeWithdrawn, true)
	if err != nil {
		t.Fatal(err)
	}
	if w.Revocation.DryRun || w.User.Status != store.StatusWithdrawn || w.Revocation.RevokedCount != 2 || len(w.Revocation.Revocations) != 2 ||
		w.Revocation.FirstSeq != seq+1 || w.Revocation.LastSeq != seq+2 {
		t.Fatalf("withdrawal: %+v", w)
	}
	if s.userStatus(s.userIS) != store.StatusWithdrawn {
		t.Fatal("user not withdrawn in the store")
	}
	for _, serial := range []string{other, second} {
		c := s.certStatus(serial)
		if c.Status != store.StatusRevoked || c.Reason != ReasonPrivilegeWithdrawn {
			t.Fatalf("certificate %s: %s reason %d, want revoked privilegeWithdrawn", serial, c.Status, c.Reason)
		}
		if !crlLists(t, s.orl(), serial) {
			t.Fatalf("the ORL does not list %s", serial)
		}
	}
	a := s.lastAudit(ActWithdrawUser)
	if a.Result != "allowed" || a.Subject != "user:"+s.userIS.String() ||
		!strings.HasPrefix(a.Detail, "role=IS party="+s.supplier.String()+" status_before=active reason=privilegeWithdrawn count=2 ") {
		t.Fatalf("audit: %+v", a)
	}

	// Final: no certificate, no second withdrawal.
	_, err = s.svc.Enrol(ctx, s.aroSup, s.isReq(t, ratest.NewKey(t), ModeEnrol, ""))
	s.wantRefusal(err, ErrInactive, ActEnrol)
	_, err = s.svc.WithdrawUser(ctx, s.admin, s.userIS, ReasonPrivilegeWithdrawn, true)
	s.wantRefusal(err, ErrInactive, ActWithdrawUser)
	if !strings.Contains(err.Error(), "already withdrawn") {
		t.Fatalf("second withdrawal: %v", err)
	}
}

// TestWithdrawUserNamedByOpenEvent: a user an open SoLR event names (its
// SRP user, a user of its failed party) is not withdrawn until the event
// is closed; then it is.
func TestWithdrawUserNamedByOpenEvent(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ev := s.declare(s.liaison, nil, nil)
	extra := s.user("90-B3-D5-1F-30-01-00-09", s.supplier, role.GasSupplier)
	for _, u := range []eui64.ID{s.userSC, s.userIS, extra} {
		_, err := s.svc.WithdrawUser(ctx, s.admin, u, ReasonPrivilegeWithdrawn, true)
		s.wantRefusal(err, ErrEventState, ActWithdrawUser)
		if !strings.Contains(err.Error(), ev.ID) {
			t.Fatalf("%s: refusal does not name event %s: %v", u, ev.ID, err)
		}
		if s.userStatus(u) != store.StatusActive {
			t.Fatalf("%s changed", u)
		}
	}
	if _, err := s.svc.CloseSoLR(ctx, s.liaison, ev.ID, "test"); err != nil {
		t.Fatal(err)
	}
	w, err := s.svc.WithdrawUser(ctx, s.admin, s.userSC, ReasonPrivilegeWithdrawn, true)
	if err != nil || w.User.Status != store.StatusWithdrawn || s.certStatus(s.scSerial).Status != store.StatusRevoked {
		t.Fatalf("after close: %+v %v", w, err)
	}
	// A withdrawn SC user is no event's SRP user.
	_, err = s.svc.DeclareSoLR(ctx, s.liaison, DeclareRequest{FailedParty: s.supplier, SRPUser: s.userSC, Instruction: "OFGEM-SOLR-TEST-2"})
	if CodeOf(err) == "" {
		t.Fatal("a withdrawn SC user was named an SRP user")
	}
}

// userStatus returns the stored status of user id.
func (e *env) userStatus(id eui64.ID) string {
	e.t.Helper()
	var u store.User
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(id.String())
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return u.Status
}

// orl returns the current ORL's DER.
func (e *env) orl() []byte {
	e.t.Helper()
	var c store.CRL
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = tx.GetCRL(ca.ORL)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return c.DER
}
