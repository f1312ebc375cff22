package ra

import (
	"context"
	"crypto"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
)

func TestSubmitADT(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	good := adtJSON(s.userSC, s.userIS, `{"srv":"1.6","period":"24h","warning":100,"quarantine":500}`)
	aroKey := s.signerOf("aro-srp")
	srpOther := s.user("90-B3-D5-1F-30-01-00-05", s.srp, "OU") // an SRP user that is not SC
	gone := s.user("90-B3-D5-1F-30-01-00-06", s.supplier, role.ImportSupplier)
	if _, err := s.svc.WithdrawUser(ctx, s.admin, gone, 9, true); err != nil {
		t.Fatal(err)
	}
	sign := func(k crypto.Signer, file []byte) []byte {
		sig, err := adtfile.Sign(k, file)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	tests := []struct {
		name string
		who  Actor
		file []byte
		sig  []byte
		want error
	}{
		{"signed by another officer", s.aroSR, good, sign(s.signerOf("sro-srp"), good), ErrADTSignature},
		{"signature over other bytes", s.aroSR, good, sign(aroKey, append([]byte(" "), good...)), ErrADTSignature},
		{"no signature", s.aroSR, good, nil, ErrADTSignature},
		{"garbage signature", s.aroSR, good, []byte("not DER"), ErrADTSignature},
		{"officer of the supplier party", s.aroSup, good, sign(s.signerOf("aro-a"), good), ErrNotFound}, // the SRP's SC user is not there (finding 7)
		{"ra-operator may not submit", s.admin, good, nil, ErrADTSignature},
		{"SC user of another party", s.aroSR, adtJSON(s.userIS2, s.userIS, `{"srv":"1.6","period":"1h","warning":1,"quarantine":2}`), nil, ErrNotFound},
		{"SC user is not SC", s.aroSR, adtJSON(srpOther, s.userIS, `{"srv":"1.6","period":"1h","warning":1,"quarantine":2}`), nil, ErrADTUser},
		{"supplier user unknown", s.aroSR, adtJSON(s.userSC, eui64.MustParse("90-B3-D5-1F-30-01-00-77"), `{"srv":"1.6","period":"1h","warning":1,"quarantine":2}`), nil, ErrADTUser},
		{"supplier user withdrawn", s.aroSR, adtJSON(s.userSC, gone, `{"srv":"1.6","period":"1h","warning":1,"quarantine":2}`), nil, ErrADTUser},
		{"supplier user is the SC user", s.aroSR, adtJSON(s.userSC, s.userSC, `{"srv":"1.6","period":"1h","warning":1,"quarantine":2}`), nil, ErrADTUser},
		{"SRV not allowed for SC", s.aroSR, adtJSON(s.userSC, s.userIS, `{"srv":"6.15.1","period":"1h","warning":1,"quarantine":2}`), nil, ErrADTSRV},
		{"warning above quarantine", s.aroSR, adtJSON(s.userSC, s.userIS, `{"srv":"1.6","period":"1h","warning":3,"quarantine":2}`), nil, ErrADTThreshold},
	}
	for _, tc := range tests {
		sig := tc.sig
		if sig == nil && tc.name != "no signature" {
			sig = sign(aroKey, tc.file)
		}
		_, err := s.svc.SubmitADT(ctx, tc.who, tc.file, sig)
		if tc.want == ErrNotFound {
			s.wantHidden(err, ActSubmitADT)
		} else {
			s.wantRefusal(err, tc.want, ActSubmitADT)
		}
		if n := s.records(records.KindADT); n != 0 {
			t.Fatalf("%s: %d ADT records after a refusal", tc.name, n)
		}
	}
	rec, err := s.svc.SubmitADT(ctx, s.aroSR, good, sign(aroKey, good))
	if err != nil {
		t.Fatal(err)
	}
	if rec.SubmittedBy != "aro-srp" || len(rec.Thresholds) != 1 || rec.SupplierUser != s.userIS {
		t.Fatalf("record %+v", rec)
	}
	// The stored record verifies again from its own certificate.
	cert, err := parseCertPEM(s.cred["aro-srp"].CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := adtfile.Verify(cert, rec.File, rec.Signature); err != nil {
		t.Fatal(err)
	}
	// A resubmission replaces; the SRP's officers and RA officers list it,
	// the supplier's do not.
	if _, err := s.svc.SubmitADT(ctx, s.sroSR, good, sign(s.signerOf("sro-srp"), good)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  Actor
		want int
	}{{s.aroSR, 1}, {s.admin, 1}, {s.liaison, 1}, {s.aroSup, 0}} {
		rs, err := s.svc.ListADT(ctx, tc.who)
		if err != nil || len(rs) != tc.want {
			t.Fatalf("ListADT as %s: %d, %v; want %d", tc.who.ID(), len(rs), err, tc.want)
		}
		if len(rs) == 1 && (rs[0].SubmittedBy != "sro-srp" || rs[0].File != nil) {
			t.Fatalf("listed %+v", rs[0])
		}
	}
}

// TestSubmitADTSuspendedParty: while the RA has suspended the SC user's
// party, its officers may not widen what its SC user may send: an ADT
// file is refused as an enrolment or an appointment for that party is
// (E_RA_INACTIVE, saying how it ends), audited, nothing stored; reinstated,
// the same file is accepted.
func TestSubmitADTSuspendedParty(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	good := adtJSON(s.userSC, s.userIS, `{"srv":"1.6","period":"24h","warning":100,"quarantine":500}`)
	sig, err := adtfile.Sign(s.signerOf("aro-srp"), good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.srp, "suspended"); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.SubmitADT(ctx, s.aroSR, good, sig)
	s.wantRefusal(err, ErrInactive, ActSubmitADT)
	if !strings.Contains(err.Error(), "smki party reinstate") {
		t.Errorf("refusal %q does not say how the suspension ends", err)
	}
	if n := s.records(records.KindADT); n != 0 {
		t.Fatalf("%d ADT records after a refusal", n)
	}
	if _, err := s.svc.SetPartyStatus(ctx, s.admin, s.srp, "active"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SubmitADT(ctx, s.aroSR, good, sig); err != nil {
		t.Fatalf("after reinstatement: %v", err)
	}
}
