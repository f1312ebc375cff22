package ra

import (
	"context"
	"strings"
	"testing"

	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/records"
)

// TestWithdrawADT: an ADT file in force is withdrawn without being
// deleted (docs/adt.md, "Withdrawing a file"). The bundle leaves it out,
// GET /v1/adt still lists it with who withdrew it, when and why, and the
// audit record names the file's SHA-256. Refusals change nothing: another
// party's officer (not there to it), an approver, a missing file, a
// second withdrawal (E_RA_INACTIVE), a bad reason. A new file for the
// pair is in force again.
func TestWithdrawADT(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	s.withSigner()
	ctx := context.Background()
	file := adtJSON(s.userSC, s.userIS, `{"srv":"1.6","period":"24h","warning":100,"quarantine":500}`)
	submit := func() records.ADTRecord {
		t.Helper()
		sig, err := adtfile.Sign(s.signerOf("aro-srp"), file)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.svc.SubmitADT(ctx, s.aroSR, file, sig)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	rec := submit()
	if n := len(s.openBundle().ADT); n != 1 {
		t.Fatalf("bundle holds %d ADT scopes before the withdrawal, want 1", n)
	}

	_, err := s.svc.WithdrawADT(ctx, s.aroSup, s.userSC, s.userIS, "")
	s.wantHidden(err, ActWithdrawADT)
	_, err = s.svc.WithdrawADT(ctx, s.approver, s.userSC, s.userIS, "")
	s.wantRefusal(err, ErrForbidden, ActWithdrawADT)
	_, err = s.svc.WithdrawADT(ctx, s.aroSR, s.userSC, s.userIS2, "")
	s.wantRefusal(err, ErrNotFound, ActWithdrawADT)
	_, err = s.svc.WithdrawADT(ctx, s.aroSR, s.userSC, s.userIS, "line\nbreak")
	s.wantRefusal(err, ErrBadRequest, ActWithdrawADT)
	if n := len(s.openBundle().ADT); n != 1 {
		t.Fatalf("a refusal changed the bundle: %d ADT scopes", n)
	}

	w, err := s.svc.WithdrawADT(ctx, s.sroSR, s.userSC, s.userIS, "SRP instructed to stop")
	if err != nil {
		t.Fatal(err)
	}
	if w.Withdrawn == nil || w.Withdrawn.By != "sro-srp" || w.Withdrawn.Reason != "SRP instructed to stop" || !w.Withdrawn.At.Equal(s.clock.Now().UTC()) ||
		w.SHA256 != rec.SHA256 || w.File != nil {
		t.Fatalf("withdrawn: %+v", w)
	}
	if n := len(s.openBundle().ADT); n != 0 {
		t.Fatalf("bundle holds %d ADT scopes after the withdrawal, want 0", n)
	}
	list, err := s.svc.ListADT(ctx, s.aroSR)
	if err != nil || len(list) != 1 || list[0].Withdrawn == nil || list[0].SHA256 != rec.SHA256 {
		t.Fatalf("list after withdrawal: %+v %v", list, err)
	}
	if s.records(records.KindADT) != 1 {
		t.Fatal("the withdrawn record was deleted")
	}
	if a := s.lastAudit(ActWithdrawADT); a.Result != "allowed" || a.Actor != "sro-srp" ||
		a.Detail != `sc_user=`+s.userSC.String()+` supplier_user=`+s.userIS.String()+` sha256=`+rec.SHA256+` reason="SRP instructed to stop"` {
		t.Fatalf("audit: %+v", a)
	}

	_, err = s.svc.WithdrawADT(ctx, s.admin, s.userSC, s.userIS, "")
	s.wantRefusal(err, ErrInactive, ActWithdrawADT)
	if !strings.Contains(err.Error(), "already withdrawn by sro-srp") {
		t.Fatalf("second withdrawal: %v", err)
	}

	// Submitted again: in force again.
	submit()
	if n := len(s.openBundle().ADT); n != 1 {
		t.Fatalf("bundle holds %d ADT scopes after a new file, want 1", n)
	}
	// An ra-operator withdraws on instruction.
	if _, err := s.svc.WithdrawADT(ctx, s.admin, s.userSC, s.userIS, ""); err != nil {
		t.Fatal(err)
	}
}
