package ra

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// Red-team input handling (h14): hostile bodies over HTTP, hostile IDs,
// names, files, windows, reasons and serials through the Service. Every
// malformed input gets its stable code and writes nothing (docs/api.md
// "Audit"): the store's audit length is unchanged.

func TestRedTeamIDsAndNames(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	ids := []string{"", "../admin", "a/b", `a\b`, "..", "a..b", ".hidden", "-dash", "Admin", "a b", "a\x00", "é",
		strings.Repeat("a", 64), "admin\n"}
	for _, id := range ids {
		before := ratest.AuditLen(s.t, s.st)
		_, _, err := s.svc.AppointOfficer(ctx, s.admin, OfficerRequest{ID: id, Name: "X", Kind: KindRAOperator})
		if !errors.Is(err, ErrInvalidID) {
			t.Errorf("officer ID %q: %v", id, err)
		}
		if _, err := s.svc.RemoveOfficer(ctx, s.admin, id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("remove officer ID %q: %v", id, err)
		}
		if n := ratest.AuditLen(s.t, s.st); n != before {
			t.Errorf("officer ID %q wrote %d audit records", id, n-before)
		}
	}
	names := []string{"", "   ", "a\nb", "a\rb", "a\tb", "a\x7fb", "a\u0085b" /* NEL */, "a\u202eb" /* RLO */, "\u200b",
		"a\u2028b", "a\ufeffb", "a\u2066b", strings.Repeat("n", 201), "a\xffb"}
	for i, name := range names {
		pid := eui64.MustParse("90-B3-D5-1F-30-00-10-00")
		pid[7] = byte(i + 1)
		if _, err := s.svc.CreateParty(ctx, s.admin, pid, name); !errors.Is(err, ErrBadRequest) {
			t.Errorf("party name %q: %v", name, err)
		}
		if _, _, err := s.svc.AppointOfficer(ctx, s.sroSup, OfficerRequest{ID: "n" + string(rune('a'+i)), Name: name, Kind: KindARO, PartyID: s.supplier}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("officer name %q: %v", name, err)
		}
	}
	// Fine names stay fine.
	for i, name := range []string{"Ann Bee", "Zoë O'Brien-Smith", "株式会社", "A & B (Ltd.)"} {
		pid := eui64.MustParse("90-B3-D5-1F-30-00-20-00")
		pid[7] = byte(i + 1)
		if _, err := s.svc.CreateParty(ctx, s.admin, pid, name); err != nil {
			t.Errorf("party name %q: %v", name, err)
		}
	}
}

func TestRedTeamFiles(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	sc, sup := s.userSC, s.userIS
	head := `{"format":"smki-adt/1","sc_user":"` + sc.String() + `","supplier_user":"` + sup.String() + `",`
	th := `{"srv":"1.6","period":"24h","warning":5,"quarantine":10}`
	adts := []struct {
		name string
		file string
		code error
	}{
		{"duplicate thresholds member", head + `"thresholds":[` + th + `],"thresholds":[{"srv":"1.6","period":"24h","warning":0,"quarantine":100000}]}`, ErrADTFormat},
		{"duplicate sc_user member", head + `"sc_user":"` + s.userIS2.String() + `","thresholds":[` + th + `]}`, ErrADTFormat},
		{"duplicate member inside a threshold", head + `"thresholds":[{"srv":"1.6","period":"24h","warning":5,"quarantine":10,"quarantine":99}]}`, ErrADTFormat},
		{"duplicate SRV", head + `"thresholds":[` + th + `,` + th + `]}`, ErrADTSRV},
		{"negative warning", head + `"thresholds":[{"srv":"1.6","period":"24h","warning":-1,"quarantine":10}]}`, ErrADTThreshold},
		{"negative period", head + `"thresholds":[{"srv":"1.6","period":"-1h","warning":1,"quarantine":10}]}`, ErrADTThreshold},
		{"zero period", head + `"thresholds":[{"srv":"1.6","period":"0s","warning":1,"quarantine":10}]}`, ErrADTThreshold},
		{"warning above quarantine", head + `"thresholds":[{"srv":"1.6","period":"24h","warning":11,"quarantine":10}]}`, ErrADTThreshold},
		{"quarantine over int64", head + `"thresholds":[{"srv":"1.6","period":"24h","warning":1,"quarantine":99999999999999999999}]}`, ErrADTFormat},
		{"SRV not allowed for SC", head + `"thresholds":[{"srv":"1.1.1","period":"24h","warning":1,"quarantine":10}]}`, ErrADTSRV},
		{"no thresholds", head + `"thresholds":[]}`, ErrADTFormat},
		{"unknown member", head + `"thresholds":[` + th + `],"admin":true}`, ErrADTFormat},
		{"oversized", head + `"thresholds":[` + th + `],"x":"` + strings.Repeat("a", adtfile.MaxSize) + `"}`, ErrADTFormat},
	}
	for _, tc := range adts {
		sig, err := adtfile.Sign(s.signerOf("aro-srp"), []byte(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.svc.SubmitADT(ctx, s.aroSR, []byte(tc.file), sig)
		if !errors.Is(err, tc.code) {
			t.Errorf("ADT %s: got %v, want %v", tc.name, err, tc.code)
			continue
		}
		if got := s.lastAudit(ActSubmitADT); got.Result != "refused: "+tc.code.Error() {
			t.Errorf("ADT %s: audit %q", tc.name, got.Result)
		}
	}
	if n := s.records(records.KindADT); n != 0 {
		t.Fatalf("refused ADT files stored %d records", n)
	}

	d1, d2 := "00-DB-12-34-56-78-90-C1", "00-DB-12-34-56-78-90-C2"
	row := func(d string) string { return d + "," + sup.String() + ",1" }
	csvs := []struct{ name, file string }{
		{"BOM between header and device", devicefile.Header + "\n\ufeff" + row(d1) + "\n"},
		{"quoted field", devicefile.Header + "\n\"" + d1 + "\"," + sup.String() + ",1\n"},
		{"duplicate device", devicefile.Header + "\n" + row(d1) + "\n" + row(d1) + "\n"},
		{"duplicate device, other spelling", devicefile.Header + "\n" + row(d1) + "\n" + row(strings.ToLower(strings.ReplaceAll(d1, "-", ""))) + "\n"},
		{"blank line", devicefile.Header + "\n" + row(d1) + "\n\n" + row(d2) + "\n"},
		{"CR-only line ends", devicefile.Header + "\r" + row(d1) + "\r"},
		{"extra field", devicefile.Header + "\n" + row(d1) + ",x\n"},
		{"smets 01", devicefile.Header + "\n" + d1 + "," + sup.String() + ",01\n"},
		{"smets +1", devicefile.Header + "\n" + d1 + "," + sup.String() + ",+1\n"},
		{"SC user as supplier", devicefile.Header + "\n" + d1 + "," + sc.String() + ",1\n"},
		{"unknown supplier", devicefile.Header + "\n" + d1 + ",90-B3-D5-1F-30-01-99-99,1\n"},
		{"header only", devicefile.Header + "\n"},
		{"not UTF-8", devicefile.Header + "\n" + row(d1) + "\xff\n"},
	}
	devicesBefore := s.records(records.KindDevice)
	for _, tc := range csvs {
		_, err := s.svc.ImportDevices(ctx, s.admin, []byte(tc.file))
		if !errors.Is(err, ErrDeviceFile) {
			t.Errorf("devices %s: %v", tc.name, err)
			continue
		}
		if got := s.lastAudit(ActImportDevice); got.Result != "refused: "+ErrDeviceFile.Error() {
			t.Errorf("devices %s: audit %q", tc.name, got.Result)
		}
	}
	if n := s.records(records.KindDevice); n != devicesBefore {
		t.Fatalf("refused device files changed the registry: %d -> %d", devicesBefore, n)
	}
	// CRLF and a missing final newline are fine, and so is what a
	// spreadsheet adds (a byte order mark before the header, empty rows
	// after the data): neither is a cell, so the file means one thing.
	if res, err := s.svc.ImportDevices(ctx, s.admin, []byte(devicefile.Header+"\r\n"+row(d1)+"\r\n"+row(d2))); err != nil || res.Added != 2 {
		t.Fatalf("CRLF file: %+v %v", res, err)
	}
	if res, err := s.svc.ImportDevices(ctx, s.admin, []byte("\ufeff"+devicefile.Header+"\r\n"+row(d1)+"\r\n,,\r\n")); err != nil || res.Devices != 1 {
		t.Fatalf("spreadsheet file: %+v %v", res, err)
	}
}

func TestRedTeamWindowsReasonsSerials(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	now := s.clock.Now()
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	windows := []struct {
		name string
		req  DeclareRequest
		code error
	}{
		{"end before start", DeclareRequest{Start: now, End: at(-time.Hour)}, ErrBadRequest},
		{"end equals start", DeclareRequest{Start: now, End: at(0)}, ErrBadRequest},
		{"revoke-at at end", DeclareRequest{End: at(time.Hour), RevokeAt: at(time.Hour)}, ErrBadRequest},
		{"revoke-at after end", DeclareRequest{End: at(time.Hour), RevokeAt: at(48 * time.Hour)}, ErrBadRequest},
		{"empty instruction", DeclareRequest{Instruction: " "}, ErrBadRequest},
		{"instruction with bidi override", DeclareRequest{Instruction: "OFGEM-\u202e1-TSET"}, ErrBadRequest},
		{"zero failed party", DeclareRequest{FailedParty: eui64.ID{}}, ErrInvalidID},
	}
	for _, tc := range windows {
		r := tc.req
		if r.FailedParty.IsZero() && tc.code != ErrInvalidID {
			r.FailedParty = s.supplier
		}
		r.SRPUser = s.userSC
		if r.Instruction == "" {
			r.Instruction = "OFGEM-TEST"
		}
		_, err := s.svc.DeclareSoLR(ctx, s.liaison, r)
		if !errors.Is(err, tc.code) {
			t.Errorf("declare %s: got %v, want %v", tc.name, err, tc.code)
			continue
		}
		if got := s.lastAudit(ActDeclareSoLR); got.Result != "refused: "+tc.code.Error() {
			t.Errorf("declare %s: audit %q", tc.name, got.Result)
		}
	}
	if n := s.records(records.KindEvent); n != 0 {
		t.Fatalf("refused declarations stored %d events", n)
	}
	// revoke-at in the past is "at approval": approval revokes at once.
	ev := s.declare(s.liaison, at(-24*time.Hour), nil)
	res, err := s.svc.ApproveSoLR(ctx, s.approver, ev.ID)
	if err != nil || res.Event.State != "active" || s.certStatus(s.isSerial).Status != store.StatusRevoked {
		t.Fatalf("past revoke-at: %+v %v", res.Event, err)
	}

	for _, r := range []string{"2", "7", "8", "10", "-1", "cACompromise", "certificateHold", "removeFromCRL", "keycompromise ", "x"} {
		n, err := ParseReason(r)
		if r == "keycompromise " {
			if err != nil || n != 1 {
				t.Errorf("reason %q: %d %v", r, n, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadReason) {
			t.Errorf("reason %q: %d %v", r, n, err)
		}
	}
	for _, serial := range []string{"", "-1", "0", "00", "zz", "0x", strings.Repeat("1", 40), "1 2"} {
		before := ratest.AuditLen(s.t, s.st)
		if _, err := s.svc.GetCertificate(ctx, s.admin, serial); !errors.Is(err, ErrBadSerial) || errors.Is(err, ErrNotFound) {
			t.Errorf("serial %q: %v, want E_RA_BAD_SERIAL (malformed, not not-found)", serial, err)
		}
		if _, err := s.svc.Revoke(ctx, s.admin, RevokeRequest{Serial: serial, DryRun: true}); serial != "" && !errors.Is(err, ErrBadSerial) {
			t.Errorf("revoke serial %q: %v", serial, err)
		}
		if n := ratest.AuditLen(s.t, s.st); n != before {
			t.Errorf("malformed serial %q wrote %d audit records", serial, n-before)
		}
	}
	// The same certificate by other spellings of its serial.
	for _, sp := range []string{strings.ToUpper(s.scSerial), "0x" + s.scSerial, " " + s.scSerial + " "} {
		if c, err := s.svc.GetCertificate(ctx, s.admin, sp); err != nil || c.Serial != s.scSerial {
			t.Errorf("serial spelling %q: %v", sp, err)
		}
	}
}
