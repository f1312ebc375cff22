package ra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
)

// TestChannelMarksAudit: an actor acting Via the console is decided alike
// and its allowed and refused records end in "channel=console"; an API
// actor's records carry no channel.
func TestChannelMarksAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.admin.Via(ChannelConsole)
	if _, err := e.svc.CreateParty(ctx, admin, eui64.MustParse("90-B3-D5-1F-30-00-00-31"), "Console Party"); err != nil {
		t.Fatal(err)
	}
	if tail := ratest.AuditTail(e.t, e.st, 1)[0]; tail.Action != string(ActCreateParty) || !strings.HasSuffix(tail.Detail, "channel=console") {
		t.Fatalf("allowed record %+v: want detail ending channel=console", tail)
	}
	_, err := e.svc.CreateParty(ctx, admin, eui64.MustParse("90-B3-D5-1F-30-00-00-31"), "Again")
	if err == nil {
		t.Fatal("duplicate party allowed")
	}
	if tail := ratest.AuditTail(e.t, e.st, 1)[0]; !strings.HasPrefix(tail.Result, "refused: E_") || !strings.HasSuffix(tail.Detail, "channel=console") {
		t.Fatalf("refused record %+v: want a refusal ending channel=console", tail)
	}
	if _, err := e.svc.CreateParty(ctx, e.admin, eui64.MustParse("90-B3-D5-1F-30-00-00-32"), "API Party"); err != nil {
		t.Fatal(err)
	}
	if tail := ratest.AuditTail(e.t, e.st, 1)[0]; strings.Contains(tail.Detail, "channel=") {
		t.Fatalf("API record %+v carries a channel", tail)
	}
}

// TestGetUserHidesOtherParties: a party officer gets the same answer for
// another party's user as for none at all; RA officers and the own party
// see the user.
func TestGetUserHidesOtherParties(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	u, err := s.svc.GetUser(ctx, s.aroSup, s.userIS)
	if err != nil || u.Role != role.ImportSupplier {
		t.Fatalf("own user: %+v %v", u, err)
	}
	if _, err := s.svc.GetUser(ctx, s.admin, s.userSC); err != nil {
		t.Fatalf("RA operator: %v", err)
	}
	unknown := eui64.MustParse("90-B3-D5-1F-30-01-0F-0F")
	_, theirs := s.svc.GetUser(ctx, s.aroSup, s.userSC)
	_, none := s.svc.GetUser(ctx, s.aroSup, unknown)
	if !errors.Is(theirs, ErrNotFound) || !errors.Is(none, ErrNotFound) {
		t.Fatalf("want E_RA_NOT_FOUND twice, got %v / %v", theirs, none)
	}
	if a, b := strings.ReplaceAll(theirs.Error(), s.userSC.String(), "ID"), strings.ReplaceAll(none.Error(), unknown.String(), "ID"); a != b {
		t.Fatalf("answers differ: %q vs %q", a, b)
	}
	// The allowed reads above are appended through the batched audit
	// journal and chained when it is sealed, possibly after the refusals:
	// seal it, then look for each refusal by its subject, not at the tail.
	if err := s.st.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	// Each refusal is audited as it was: another party's user refused,
	// the unknown one not found.
	refusedFor := map[string]string{}
	for _, e := range ratest.AuditTail(s.t, s.st, 1<<20) {
		if e.Actor == "aro-a" && e.Action == string(ActReadParty) && strings.HasPrefix(e.Result, "refused: ") {
			refusedFor[e.Subject] = e.Result
		}
	}
	for id, want := range map[eui64.ID]error{s.userSC: ErrForbidden, unknown: ErrNotFound} {
		if got := refusedFor["user:"+id.String()]; got != "refused: "+want.Error() {
			t.Fatalf("the refusal for user %s is audited %q, want %s (refused subjects: %v)", id, got, want, refusedFor)
		}
	}
}

// TestAuditLogFilters: RA officers read the log newest first with filters;
// a party officer is refused.
func TestAuditLogFilters(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	es, err := s.svc.AuditLog(ctx, s.admin, AuditQuery{Action: string(ActAppointOfficer)})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 {
		t.Fatalf("got %d officer.appoint entries, want 5 (admin, approver, sro-a, aro-a, sro-srp)", len(es))
	}
	if es[0].Seq <= es[len(es)-1].Seq || es[0].Subject != "officer:sro-srp" {
		t.Fatalf("not newest first: %+v", es)
	}
	if es, err := s.svc.AuditLog(ctx, s.admin, AuditQuery{Actor: "sro-a", Limit: 1}); err != nil || len(es) != 1 || es[0].Actor != "sro-a" {
		t.Fatalf("actor filter: %+v %v", es, err)
	}
	if _, err := s.svc.AuditLog(ctx, s.aroSup, AuditQuery{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("party officer: %v, want E_RA_FORBIDDEN", err)
	}
	if _, err := s.svc.AuditLog(ctx, s.admin, AuditQuery{Actor: "<script>"}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("bad filter: %v", err)
	}
}
