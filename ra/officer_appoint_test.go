package ra

import (
	"context"
	"crypto"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/store"
)

// countingKeys is an ownpki.Keys whose signers count the signatures they
// make: on an HSM each one is a call to the token.
type countingKeys struct {
	ownpki.Keys
	n atomic.Int64
}

func (k *countingKeys) LoadSigner(ref string) (crypto.Signer, error) {
	s, err := k.Keys.LoadSigner(ref)
	if err != nil {
		return nil, err
	}
	return countingSigner{Signer: s, n: &k.n}, nil
}

type countingSigner struct {
	crypto.Signer
	n *atomic.Int64
}

func (s countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, digest, opts)
}

// countingAccess returns a Service over e's store and CA whose access CA
// (the same root and key as e's) counts its signatures in the returned
// counter.
func (e *env) countingAccess() (*Service, *atomic.Int64) {
	e.t.Helper()
	keys := &countingKeys{Keys: e.keys}
	acc, err := ownpki.OpenAccessCA(filepath.Join(e.dir, "access"), keys, e.clock.Now, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	svc, err := New(e.st, e.ca, acc, WithClock(e.clock.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	return svc, &keys.n
}

// TestAppointOfficerRefusedSignsNothing: an appointment the RA refuses
// (the policy, another party's or an unknown or suspended party, a taken
// ID, a removed appointer) costs no signature of the access CA's key (on
// an HSM in production), with or without a CSR; its refusal is audited as
// before. An allowed appointment costs exactly one.
func TestAppointOfficerRefusedSignsNothing(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	suspended := s.party("90-B3-D5-1F-30-00-00-33", "Suspended Supplier")
	if _, err := s.svc.SetPartyStatus(ctx, s.admin, suspended, store.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	gone := s.officer(s.sroSup, "sro-a2", KindSRO, s.supplier)
	if _, err := s.svc.RemoveOfficer(ctx, s.admin, "sro-a2"); err != nil {
		t.Fatal(err)
	}
	svc, signed := s.countingAccess()
	unknown := eui64.MustParse("90-B3-D5-1F-30-00-00-99")

	tests := []struct {
		name    string
		by      Actor
		req     OfficerRequest
		code    error  // answered
		audited string // the audit record's result
	}{
		{"ARO appoints an ARO", s.aroSup, OfficerRequest{ID: "x1", Kind: KindARO, PartyID: s.supplier}, ErrForbidden, "refused: E_RA_FORBIDDEN"},
		{"ARO appoints an SRO, with a CSR", s.aroSup, OfficerRequest{ID: "x2", Kind: KindSRO, PartyID: s.supplier, CSR: officerCSR(t, ratest.NewKey(t))}, ErrForbidden, "refused: E_RA_FORBIDDEN"},
		{"SRO appoints an ra-operator", s.sroSup, OfficerRequest{ID: "x3", Kind: KindRAOperator}, ErrForbidden, "refused: E_RA_FORBIDDEN"},
		{"SRO appoints in another party", s.sroSR, OfficerRequest{ID: "x4", Kind: KindARO, PartyID: s.supplier}, ErrNotFound, "refused: E_RA_FORBIDDEN"},
		{"operator appoints a second SRO", s.admin, OfficerRequest{ID: "x5", Kind: KindSRO, PartyID: s.supplier}, ErrSROExists, "refused: E_RA_SRO_EXISTS"},
		{"operator appoints in an unknown party", s.admin, OfficerRequest{ID: "x6", Kind: KindSRO, PartyID: unknown}, ErrNotFound, "refused: E_RA_NOT_FOUND"},
		{"operator appoints in a suspended party", s.admin, OfficerRequest{ID: "x7", Kind: KindSRO, PartyID: suspended}, ErrInactive, "refused: E_RA_INACTIVE"},
		{"operator reuses an officer ID", s.admin, OfficerRequest{ID: "approver", Kind: KindRAApprover}, ErrExists, "refused: E_RA_EXISTS"},
		{"operator reuses an officer ID, with a CSR", s.admin, OfficerRequest{ID: "aro-a", Kind: KindRAApprover, CSR: officerCSR(t, ratest.NewKey(t))}, ErrExists, "refused: E_RA_EXISTS"},
		{"removed SRO appoints an ARO", gone, OfficerRequest{ID: "x8", Kind: KindARO, PartyID: s.supplier}, ErrOfficerInactive, "refused: E_RA_OFFICER_INACTIVE"},
	}
	for _, tc := range tests {
		tc.req.Name = "Officer " + tc.req.ID
		before := signed.Load()
		_, _, err := svc.AppointOfficer(ctx, tc.by, tc.req)
		if !errors.Is(err, tc.code) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
			continue
		}
		if n := signed.Load() - before; n != 0 {
			t.Errorf("%s: refused (%s) after %d signature(s) of the access CA's key, want none", tc.name, CodeOf(err), n)
		}
		last := ratest.AuditTail(t, s.st, 1)[0]
		if last.Actor != tc.by.ID() || last.Action != string(ActAppointOfficer) || last.Subject != "officer:"+tc.req.ID ||
			last.Result != tc.audited || !strings.Contains(last.Detail, err.Error()) {
			t.Errorf("%s: audit record %+v, want actor %s, %s officer:%s, %q with detail holding %q",
				tc.name, last, tc.by.ID(), ActAppointOfficer, tc.req.ID, tc.audited, err.Error())
		}
	}

	before := signed.Load()
	if _, _, err := svc.AppointOfficer(ctx, s.sroSup, OfficerRequest{ID: "aro-a3", Name: "Officer aro-a3", Kind: KindARO, PartyID: s.supplier}); err != nil {
		t.Fatal(err)
	}
	if n := signed.Load() - before; n != 1 {
		t.Fatalf("an allowed appointment made %d signatures of the access CA's key, want 1", n)
	}
}

// TestRenewOfficerRefusedSignsNothing: a renewal or re-issue the RA
// refuses (the policy, another party's officer or none, a removed officer
// or renewer) costs no signature of the access CA's key; its refusal is
// audited as before. An allowed one costs the credential's and the
// access CRL's.
func TestRenewOfficerRefusedSignsNothing(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	approver := s.actorFromDir(filepath.Join(s.dir, "officers", "approver"))
	gone := s.officer(s.sroSup, "aro-gone", KindARO, s.supplier)
	goneSRO := s.officer(s.sroSup, "sro-gone", KindSRO, s.supplier)
	for _, id := range []string{"aro-gone", "sro-gone"} {
		if _, err := s.svc.RemoveOfficer(ctx, s.admin, id); err != nil {
			t.Fatal(err)
		}
	}
	svc, signed := s.countingAccess()
	csr := func() string { return officerCSR(t, ratest.NewKey(t)) }

	tests := []struct {
		name    string
		by      Actor
		id, csr string
		code    error  // answered
		audited string // the audit record's result
	}{
		{"ARO re-issues its SRO", s.aroSup, "sro-a", csr(), ErrForbidden, "refused: E_RA_FORBIDDEN"},
		{"ra-operator re-issues an ARO", s.admin, "aro-a", csr(), ErrForbidden, "refused: E_RA_FORBIDDEN"},
		{"approver re-issues an SRO", approver, "sro-srp", csr(), ErrForbidden, "refused: E_RA_FORBIDDEN"},
		{"another party's SRO re-issues an ARO", s.sroSR, "aro-a", csr(), ErrNotFound, "refused: E_RA_FORBIDDEN"},
		{"SRO re-issues an unknown officer", s.sroSup, "nobody", csr(), ErrNotFound, "refused: E_RA_NOT_FOUND"},
		{"SRO re-issues a removed ARO", s.sroSup, "aro-gone", csr(), ErrInactive, "refused: E_RA_INACTIVE"},
		{"removed SRO re-issues its ARO", goneSRO, "aro-a", csr(), ErrOfficerInactive, "refused: E_RA_OFFICER_INACTIVE"},
		{"removed ARO renews itself", gone, "aro-gone", "", ErrOfficerInactive, "refused: E_RA_OFFICER_INACTIVE"},
	}
	for _, tc := range tests {
		before := signed.Load()
		_, _, err := svc.RenewOfficerCredential(ctx, tc.by, tc.id, tc.csr)
		if !errors.Is(err, tc.code) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
			continue
		}
		if n := signed.Load() - before; n != 0 {
			t.Errorf("%s: refused (%s) after %d signature(s) of the access CA's key, want none", tc.name, CodeOf(err), n)
		}
		act := ActReissueOfficer
		if tc.by.ID() == tc.id {
			act = ActRenewOfficer
		}
		last := ratest.AuditTail(t, s.st, 1)[0]
		if last.Actor != tc.by.ID() || last.Action != string(act) || last.Subject != "officer:"+tc.id ||
			last.Result != tc.audited || !strings.Contains(last.Detail, err.Error()) {
			t.Errorf("%s: audit record %+v, want actor %s, %s officer:%s, %q with detail holding %q",
				tc.name, last, tc.by.ID(), act, tc.id, tc.audited, err.Error())
		}
	}

	before := signed.Load()
	if _, _, err := svc.RenewOfficerCredential(ctx, s.sroSup, "aro-a", csr()); err != nil {
		t.Fatal(err)
	}
	if n := signed.Load() - before; n != 2 {
		t.Fatalf("an allowed re-issue made %d signatures of the access CA's key, want 2 (the credential, and the access CRL listing the one it supersedes)", n)
	}
}

// TestAppointOfficerTakenIDSaysNotWhose: officer IDs are one namespace
// across the RA (docs/api.md: the credential's CN alone names the
// officer), so an ID another party's officer holds is refused
// E_RA_EXISTS. The answer is the same sentence whoever holds the ID (the
// appointer's own party, another party, the RA), says that IDs are unique
// across every party, and names nothing of the holder: not its party, its
// name or its kind, and no "list it" that the appointer's list could
// never show.
func TestAppointOfficerTakenIDSaysNotWhose(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	answer := func(id string) string {
		t.Helper()
		_, _, err := s.svc.AppointOfficer(ctx, s.sroSup, OfficerRequest{ID: id, Name: "New Officer", Kind: KindARO, PartyID: s.supplier})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("appointing an ARO as %q = %v, want E_RA_EXISTS", id, err)
		}
		return strings.ReplaceAll(err.Error(), id, "ID")
	}
	own := answer("aro-a")          // the appointer's own party's ARO
	other := answer("sro-srp")      // another party's SRO
	raOfficer := answer("approver") // an RA officer
	if own != other || own != raOfficer {
		t.Errorf("a taken ID's answer depends on who holds it:\nown party: %s\nother party: %s\nRA: %s", own, other, raOfficer)
	}
	if !strings.Contains(other, "unique across") {
		t.Errorf("answer %q does not say officer IDs are unique across every party", other)
	}
	for _, leak := range []string{s.srp.String(), "SRP", "sro", "SRO", "already exists", "list it"} {
		if strings.Contains(other, leak) {
			t.Errorf("answer for another party's officer ID shows %q: %s", leak, other)
		}
	}
}
