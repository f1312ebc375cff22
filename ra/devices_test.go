package ra

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
)

func TestImportDevices(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t) // imports three devices
	ctx := context.Background()
	before := s.records(records.KindDevice)
	newDev := "00-DB-12-34-56-78-90-C0"
	tests := []struct {
		name string
		who  Actor
		file string
		want error
		line string
	}{
		{"aro may not import", s.aroSup, devicefile.Header + "\n" + newDev + "," + s.userIS.String() + ",1\n", ErrForbidden, ""},
		{"liaison may not import", s.liaison, devicefile.Header + "\n" + newDev + "," + s.userIS.String() + ",1\n", ErrForbidden, ""},
		{"unknown supplier on the last line", s.admin, devicefile.Header + "\n" + newDev + "," + s.userIS.String() + ",1\n00-DB-12-34-56-78-90-C1,90-B3-D5-1F-30-01-00-77,1\n", ErrDeviceFile, "line 3"},
		{"supplier user of role SC", s.admin, devicefile.Header + "\n" + newDev + "," + s.userSC.String() + ",1\n", ErrDeviceFile, "line 2"},
		{"malformed", s.admin, "device,supplier,smets\n", ErrDeviceFile, "line 1"},
	}
	for _, tc := range tests {
		_, err := s.svc.ImportDevices(ctx, tc.who, []byte(tc.file))
		s.wantRefusal(err, tc.want, ActImportDevice)
		if tc.line != "" && !strings.Contains(err.Error(), tc.line) {
			t.Fatalf("%s: %v does not name %s", tc.name, err, tc.line)
		}
		// The operator learns that the file was refused as a whole, and
		// what to do about a user the RA does not know.
		if tc.want == ErrDeviceFile && !strings.Contains(err.Error(), "nothing was imported: correct the file and import all of it again") {
			t.Fatalf("%s: %v does not say that nothing was imported", tc.name, err)
		}
		if strings.HasPrefix(tc.name, "unknown") && !strings.Contains(err.Error(), "is unknown: create it first (smki user create) or correct the line") {
			t.Fatalf("%s: %v does not say what to do about the unknown user", tc.name, err)
		}
		if n := s.records(records.KindDevice); n != before {
			t.Fatalf("%s: %d devices after a refusal, want %d (all or nothing)", tc.name, n, before)
		}
	}
	// Re-registration: devA moves to the other supplier; one device is new.
	res, err := s.svc.ImportDevices(ctx, s.admin, []byte(devicefile.Header+"\n"+s.devA.String()+","+s.userIS2.String()+",1\n"+newDev+","+s.userIS2.String()+",2\n"))
	if err != nil || res.Devices != 2 || res.Added != 1 || res.Changed != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	for _, tc := range []struct {
		who      Actor
		supplier eui64.ID
		want     int
		err      error
	}{
		{s.admin, eui64.ID{}, before + 1, nil},
		{s.admin, s.userIS2, 3, nil},
		{s.liaison, s.userIS, 1, nil},
		{s.aroSup, s.userIS, 1, nil},
		{s.aroSup, s.userIS2, 0, ErrNotFound}, // another party's user is not there (finding 7)
		{s.aroSup, eui64.ID{}, 0, ErrForbidden},
	} {
		ds, err := s.svc.ListDevices(ctx, tc.who, tc.supplier)
		if tc.err == ErrNotFound {
			s.wantHidden(err, ActReadDevices)
			continue
		}
		if tc.err != nil {
			s.wantRefusal(err, tc.err, ActReadDevices)
			continue
		}
		if err != nil || len(ds) != tc.want {
			t.Fatalf("ListDevices(%s, %s) = %d, %v; want %d", tc.who.ID(), tc.supplier, len(ds), err, tc.want)
		}
	}
}

// TestImportDeviceRegistrations: registrants must have the role of their
// capacity; an import stores them, the record keeps them, the bundle
// carries them.
func TestImportDeviceRegistrations(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ed := s.user("90-B3-D5-1F-30-06-00-01", s.otherSupplier, role.ElectricityDistributor)
	es := s.user("90-B3-D5-1F-30-06-00-02", s.otherSupplier, role.ExportSupplier)
	from := ratest.Start.Add(24 * time.Hour).UTC()
	row := func(exp, agent, no eui64.ID) string {
		cell := func(id eui64.ID) string {
			if id.IsZero() {
				return ""
			}
			return id.String()
		}
		return devicefile.HeaderRegistrations + "\n" + s.devA.String() + "," + s.userIS.String() + ",1," + cell(exp) + "," + cell(agent) + "," + cell(no) + "," + from.Format(time.RFC3339) + "\n"
	}
	for name, file := range map[string]string{
		"ED as export supplier":  row(ed, eui64.ID{}, eui64.ID{}),
		"ES as network operator": row(eui64.ID{}, eui64.ID{}, es),
		"unknown supplier agent": row(eui64.ID{}, eui64.MustParse("90-B3-D5-1F-30-06-00-99"), eui64.ID{}),
	} {
		if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(file)); CodeOf(err) != ErrDeviceFile.Error() || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v, want %s at line 2", name, err, ErrDeviceFile)
		}
	}
	res, err := s.svc.ImportDevices(ctx, s.admin, []byte(row(es, eui64.ID{}, ed)))
	if err != nil || res.Changed != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	b, err := s.svc.BuildBundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []bundle.Registration{{Capacity: policy.ExportSupplier, User: es, From: from}, {Capacity: policy.NetworkOperator, User: ed, From: from}}
	for _, d := range b.Devices {
		if d.Device == s.devA {
			if !reflect.DeepEqual(d.Registrations, want) {
				t.Fatalf("bundle device %+v, want registrations %+v", d, want)
			}
			return
		}
	}
	t.Fatal("device not in the bundle")
}

// TestImportChangeOfSupplierAndRemoval (issue 16): a change of supplier
// with a future effective_from leaves the old supplier registered until
// then and the new one from then (in the bundle the verifier reads); one
// across capacities is refused; "-" ends a registration at effective_from;
// a removals file removes a device at once or records when it leaves, an
// unknown device refusing the whole file; re-importing the device keeps it.
func TestImportChangeOfSupplierAndRemoval(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ed := s.user("90-B3-D5-1F-30-06-00-01", s.otherSupplier, role.ElectricityDistributor)
	gs := s.user("90-B3-D5-1F-30-06-00-03", s.otherSupplier, role.GasSupplier)
	from := ratest.Start.Add(24 * time.Hour).UTC()
	at := from.Format(time.RFC3339)
	h := devicefile.HeaderRegistrations + "\n"
	device := func(id eui64.ID) (bundle.Device, bool) {
		t.Helper()
		b, err := s.svc.BuildBundle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range b.Devices {
			if d.Device == id {
				return d, true
			}
		}
		return bundle.Device{}, false
	}
	registrant := func(d bundle.Device, c policy.Capacity, when time.Time) eui64.ID {
		who, _ := d.Registrant(c, when, policy.ImportSupplier)
		return who
	}
	// devA: the network operator ed at once; then userIS to userIS2 from
	// tomorrow.
	if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(h+s.devA.String()+","+s.userIS.String()+",1,,,"+ed.String()+",\n")); err != nil {
		t.Fatal(err)
	}
	res, err := s.svc.ImportDevices(ctx, s.admin, []byte(h+s.devA.String()+","+s.userIS2.String()+",1,,,,"+at+"\n"))
	if err != nil || res.Changed != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	d, _ := device(s.devA)
	if got := registrant(d, policy.ImportSupplier, from.Add(-time.Second)); got != s.userIS {
		t.Errorf("import supplier before the change: %s, want the old supplier %s (%+v)", got, s.userIS, d)
	}
	if got := registrant(d, policy.ImportSupplier, from); got != s.userIS2 {
		t.Errorf("import supplier at the change: %s, want the new supplier %s (%+v)", got, s.userIS2, d)
	}
	if sup, _ := d.SupplierAt(ratest.Start, policy.ImportSupplier); sup != s.userIS {
		t.Errorf("supplier in force now: %s, want %s", sup, s.userIS)
	}
	// Across capacities (an electricity meter to a gas supplier) only at once.
	_, err = s.svc.ImportDevices(ctx, s.admin, []byte(h+s.devB.String()+","+gs.String()+",2,,,,"+at+"\n"))
	if CodeOf(err) != ErrDeviceFile.Error() || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("future change of supplier across capacities: %v, want %s at line 2", err, ErrDeviceFile)
	}
	// The network operator's registration ends tomorrow.
	if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(h+s.devA.String()+","+s.userIS2.String()+",1,,,-,"+at+"\n")); err != nil {
		t.Fatal(err)
	}
	d, _ = device(s.devA)
	if got := registrant(d, policy.NetworkOperator, from.Add(-time.Second)); got != ed {
		t.Errorf("network operator before its end: %s, want %s (%+v)", got, ed, d)
	}
	if who, ok := d.Registrant(policy.NetworkOperator, from, policy.ImportSupplier); ok {
		t.Errorf("network operator after its end: %s, want none (%+v)", who, d)
	}
	if got := registrant(d, policy.ImportSupplier, from); got != s.userIS2 {
		t.Errorf("the supplier change was lost: %s at the change (%+v)", got, d)
	}
	// Removals: an unknown device refuses the whole file.
	before := s.records(records.KindDevice)
	rm := devicefile.HeaderRemovals + "\n" + s.devA.String() + "," + at + "\n" + s.devB.String() + ",\n"
	if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(rm+"00-DB-12-34-56-78-90-FF,\n")); CodeOf(err) != ErrDeviceFile.Error() || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("removing an unknown device: %v, want %s at line 4", err, ErrDeviceFile)
	}
	if _, ok := device(s.devB); !ok || s.records(records.KindDevice) != before {
		t.Fatal("a refused removals file removed something")
	}
	if res, err = s.svc.ImportDevices(ctx, s.admin, []byte(rm)); err != nil || res.Removed != 2 {
		t.Fatalf("removals: %+v %v", res, err)
	}
	if _, ok := device(s.devB); ok || s.records(records.KindDevice) != before-1 {
		t.Error("devB, removed at once, is still registered")
	}
	// The same removals file sent again (its answer lost): refused, and the
	// operator learns the device may be gone already and where to look.
	_, err = s.svc.ImportDevices(ctx, s.admin, []byte(rm))
	if CodeOf(err) != ErrDeviceFile.Error() || !strings.Contains(err.Error(), "line 3: device "+s.devB.String()+" is not registered: removed already (a removals file sent again?) or never imported; smki devices list shows the registry") {
		t.Errorf("removals file sent again: %v", err)
	}
	d, ok := device(s.devA)
	if !ok || !d.Until.Equal(from) || d.RemovedAt(from.Add(-time.Second)) || !d.RemovedAt(from) {
		t.Errorf("devA, removed tomorrow: %+v (in the bundle: %v)", d, ok)
	}
	if got := registrant(d, policy.ImportSupplier, from.Add(-time.Second)); got != s.userIS {
		t.Errorf("devA before its removal: import supplier %s, want %s", got, s.userIS)
	}
	// Importing it again keeps it in the registry.
	if res, err = s.svc.ImportDevices(ctx, s.admin, []byte(devicefile.Header+"\n"+s.devA.String()+","+s.userIS2.String()+",1\n")); err != nil || res.Changed != 1 {
		t.Fatalf("re-import: %+v %v", res, err)
	}
	if d, _ = device(s.devA); !d.Until.IsZero() {
		t.Errorf("re-imported device still leaves at %s", d.Until)
	}
}

// TestReimportChangesNothing: an operator who sends a device file again
// (the first answer lost to a timeout, or the same extract re-run the next
// day) changes nothing: nothing counts as changed and the registry the
// bundle carries is the same, so no verifier downloads it again. A "-"
// cell without effective_from ends a registration at once; sent again
// later, it used to move that end to the new import's time.
func TestReimportChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ed := s.user("90-B3-D5-1F-30-06-00-01", s.otherSupplier, role.ElectricityDistributor)
	rsa := s.user("90-B3-D5-1F-30-06-00-04", s.otherSupplier, role.RegisteredSupplierAgent)
	later := ratest.Start.Add(48 * time.Hour).UTC().Format(time.RFC3339)
	h := devicefile.HeaderRegistrations + "\n"
	for _, tc := range []struct{ name, file string }{
		{"plain", devicefile.Header + "\n" + s.devA.String() + "," + s.userIS.String() + ",1\n"},
		{"registrants at once", h + s.devA.String() + "," + s.userIS.String() + ",1,," + rsa.String() + "," + ed.String() + ",\n"},
		{"agent ended at once", h + s.devA.String() + "," + s.userIS.String() + ",1,,-,,\n"},
		{"operator ended later", h + s.devA.String() + "," + s.userIS.String() + ",1,,,-," + later + "\n"},
		{"change of supplier later", h + s.devA.String() + "," + s.userIS2.String() + ",1,,,," + later + "\n"},
	} {
		if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(tc.file)); err != nil {
			t.Fatalf("%s: first import: %v", tc.name, err)
		}
		before := s.bundleDevices()
		listed := func() []Device {
			ds, err := s.svc.ListDevices(ctx, s.admin, eui64.ID{})
			if err != nil {
				t.Fatalf("%s: list devices: %v", tc.name, err)
			}
			return ds
		}
		recorded := listed()
		s.clock.Advance(time.Minute)
		res, err := s.svc.ImportDevices(ctx, s.admin, []byte(tc.file))
		if err != nil || res.Added != 0 || res.Changed != 0 {
			t.Errorf("%s: the same file again: %+v %v, want nothing added or changed", tc.name, res, err)
		}
		if after := s.bundleDevices(); !reflect.DeepEqual(after, before) {
			t.Errorf("%s: the same file again changed the registry:\n%+v\nwas\n%+v", tc.name, after, before)
		}
		// Nothing changed, nothing written: the records still name the
		// import that made them what they are (a million-device file sent
		// again rewrote a million records in one transaction).
		if again := listed(); !reflect.DeepEqual(again, recorded) {
			t.Errorf("%s: the same file again rewrote the device records:\n%+v\nwere\n%+v", tc.name, again, recorded)
		}
	}
}

// TestCheckDevicesIsAFaithfulDryRun: an operator checks a device file
// before importing it (smki devices import --dry-run). The dry run refuses
// what the import refuses, with the same line, counts what the import
// then does, writes no device, and is audited as a read of the import;
// an officer who may not import may not dry-run either.
func TestCheckDevicesIsAFaithfulDryRun(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ed := s.user("90-B3-D5-1F-30-06-00-01", s.otherSupplier, role.ElectricityDistributor)
	newDev := "00-DB-12-34-56-78-90-C0"
	h := devicefile.HeaderRegistrations + "\n"
	refused := h + newDev + "," + s.userIS.String() + ",1,,,,\n00-DB-12-34-56-78-90-C1,90-B3-D5-1F-30-01-00-77,1,,,,\n"
	before := s.bundleDevices()
	_, derr := s.svc.CheckDevices(ctx, s.admin, []byte(refused))
	s.wantRefusal(derr, ErrDeviceFile, ActImportDevice)
	_, ierr := s.svc.ImportDevices(ctx, s.admin, []byte(refused))
	if derr.Error() != ierr.Error() {
		t.Errorf("dry run refused %q, the import %q", derr, ierr)
	}
	_, err := s.svc.CheckDevices(ctx, s.aroSup, []byte(devicefile.Header+"\n"+newDev+","+s.userIS.String()+",1\n"))
	s.wantRefusal(err, ErrForbidden, ActImportDevice)

	good := h + s.devA.String() + "," + s.userIS2.String() + ",1,,," + ed.String() + ",\n" + newDev + "," + s.userIS.String() + ",2,,,,\n"
	dry, err := s.svc.CheckDevices(ctx, s.admin, []byte(good))
	if err != nil || !dry.DryRun || dry.Devices != 2 || dry.Added != 1 || dry.Changed != 1 {
		t.Fatalf("dry run: %+v %v, want 2 devices, 1 new, 1 changed, dry_run", dry, err)
	}
	if after := s.bundleDevices(); !reflect.DeepEqual(after, before) {
		t.Fatalf("the dry run changed the registry:\n%+v\nwas\n%+v", after, before)
	}
	if got := s.lastAudit(ActImportDevice); got.Result != "allowed" || got.Subject != "devices:dry-run" {
		t.Errorf("dry run audited %+v, want allowed on devices:dry-run", got)
	}
	res, err := s.svc.ImportDevices(ctx, s.admin, []byte(good))
	if dry.DryRun = false; err != nil || res != dry {
		t.Fatalf("import after the dry run: %+v %v, the dry run said %+v", res, err, dry)
	}
}

// TestImportAuditNamesTheFile: the audit record of an import names the
// file imported by its SHA-256, as an ADT submission's does, so that an
// auditor holding the supplier's extract can show it is the one the
// registry took (and which of two imports of a day was which).
func TestImportAuditNamesTheFile(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	file := []byte(devicefile.Header + "\n00-DB-12-34-56-78-90-C0," + s.userIS.String() + ",1\n")
	if _, err := s.svc.ImportDevices(ctx, s.admin, file); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file)
	if got := s.lastAudit(ActImportDevice); got.Result != "allowed" || !strings.Contains(got.Detail, "sha256="+hex.EncodeToString(sum[:])) {
		t.Fatalf("import audited %+v, want the file's sha256 in its detail", got)
	}
}

// TestExportDevicesRoundTrips: smki devices export writes the registry
// as a device file that smki devices import takes unchanged: importing
// it adds and changes nothing, and the registry the bundle carries is the
// same. A device with a change still to come (a new supplier or
// registrant from a future effective_from, a removal) cannot be written
// as one line of a device file: the export is refused E_RA_DEVICE_EXPORT,
// naming it and when it can be exported, rather than write a file that,
// imported, would undo the change.
func TestExportDevicesRoundTrips(t *testing.T) {
	t.Parallel()
	s := newSoLRScenario(t)
	ctx := context.Background()
	ed := s.user("90-B3-D5-1F-30-06-00-01", s.otherSupplier, role.ElectricityDistributor)
	rsa := s.user("90-B3-D5-1F-30-06-00-04", s.otherSupplier, role.RegisteredSupplierAgent)
	past := ratest.Start.Add(-time.Hour).UTC().Format(time.RFC3339)
	later := ratest.Start.Add(48 * time.Hour).UTC().Format(time.RFC3339)
	h := devicefile.HeaderRegistrations + "\n"
	devC := "00-DB-12-34-56-78-90-C1"
	roundTrip := func(name string) {
		t.Helper()
		file, err := s.svc.ExportDevices(ctx, s.admin, eui64.ID{})
		if err != nil {
			t.Fatalf("%s: export: %v", name, err)
		}
		before := s.bundleDevices()
		s.clock.Advance(time.Minute)
		res, err := s.svc.ImportDevices(ctx, s.admin, file)
		if err != nil || res.Added != 0 || res.Changed != 0 || res.Devices != len(before) {
			t.Fatalf("%s: importing the export: %+v %v, want all %d devices, none added or changed\n%s", name, res, err, len(before), file)
		}
		if after := s.bundleDevices(); !reflect.DeepEqual(after, before) {
			t.Fatalf("%s: importing the export changed the registry:\n%+v\nwas\n%+v", name, after, before)
		}
		if again, err := s.svc.ExportDevices(ctx, s.admin, eui64.ID{}); err != nil || string(again) != string(file) {
			t.Fatalf("%s: a second export differs (%v):\n%s\nwas\n%s", name, err, again, file)
		}
	}
	roundTrip("the scenario's devices (the short header)")
	for _, tc := range []struct{ name, file string }{
		{"registrants at once", h + s.devA.String() + "," + s.userIS.String() + ",1,," + rsa.String() + "," + ed.String() + ",\n"},
		{"agent ended at once", h + s.devA.String() + "," + s.userIS.String() + ",1,,-,,\n"},
		{"registrants from a past time", h + devC + "," + s.userIS.String() + ",2,,," + ed.String() + "," + past + "\n"},
	} {
		if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(tc.file)); err != nil {
			t.Fatalf("%s: import: %v", tc.name, err)
		}
		roundTrip(tc.name)
	}
	// A party officer exports only its own supplier user's devices.
	if file, err := s.svc.ExportDevices(ctx, s.aroSup, s.userIS); err != nil || strings.Contains(string(file), "00-DB-12-34-56-78-90-B0") {
		t.Fatalf("the supplier's own export: %v\n%s", err, file)
	}
	if _, err := s.svc.ExportDevices(ctx, s.aroSup, eui64.ID{}); CodeOf(err) != ErrForbidden.Error() {
		t.Fatalf("a party officer exporting the whole registry: %v, want %s", err, ErrForbidden)
	}
	// A change still to come: refused, naming the device and the time.
	if _, err := s.svc.ImportDevices(ctx, s.admin, []byte(h+s.devB.String()+","+s.userIS.String()+",2,,,-,"+later+"\n")); err != nil {
		t.Fatal(err)
	}
	_, err := s.svc.ExportDevices(ctx, s.admin, eui64.ID{})
	s.wantRefusal(err, ErrDeviceExport, ActReadDevices)
	if !strings.Contains(err.Error(), s.devB.String()+" changes its network_operator registration at "+later) {
		t.Fatalf("refusal %q does not name the device and when it changes", err)
	}
}

// bundleDevices is the device registry as the bundle carries it.
func (s *solrScenario) bundleDevices() []bundle.Device {
	s.t.Helper()
	b, err := s.svc.BuildBundle(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return b.Devices
}
