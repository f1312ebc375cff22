package devicefile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
)

func TestParseDevices(t *testing.T) {
	t.Parallel()
	const d1, d2, u = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "90-B3-D5-1F-30-01-00-01"
	tests := []struct {
		name, file string
		rows       int
		line       string // expected "line N" in the error; "" means success
	}{
		{"good", Header + "\n" + d1 + "," + u + ",1\n" + d2 + "," + u + ",2\n", 2, ""},
		{"CRLF and no final newline", Header + "\r\n" + d1 + "," + u + ",1\r\n" + d2 + "," + u + ",2", 2, ""},
		{"no header", d1 + "," + u + ",1\n", 0, "line 1"},
		{"header only", Header + "\n", 0, "line 2"},
		{"empty file", "", 0, "line 1"},
		{"bad device", Header + "\n" + d1 + "," + u + ",1\nxyz," + u + ",1\n", 0, "line 3"},
		{"zero device", Header + "\n00-00-00-00-00-00-00-00," + u + ",1\n", 0, "line 2"},
		{"bad supplier", Header + "\n" + d1 + ",nope,1\n", 0, "line 2"},
		{"smets 3", Header + "\n" + d1 + "," + u + ",3\n", 0, "line 2"},
		{"smets 01", Header + "\n" + d1 + "," + u + ",01\n", 0, "line 2"},
		{"extra field", Header + "\n" + d1 + "," + u + ",1,x\n", 0, "line 2"},
		{"blank line", Header + "\n" + d1 + "," + u + ",1\n\n" + d2 + "," + u + ",1\n", 0, "line 3"},
		{"duplicate", Header + "\n" + d1 + "," + u + ",1\n" + d1 + "," + u + ",2\n", 0, "line 3"},
		{"quoted", Header + "\n\"" + d1 + "\"," + u + ",1\n", 0, "line 2"},
		// What spreadsheets write when they save CSV: a byte order mark
		// ("CSV UTF-8"), CRLF, and blank or comma-only rows after the data.
		{"byte order mark", "\ufeff" + Header + "\r\n" + d1 + "," + u + ",1\r\n", 1, ""},
		{"trailing blank lines", Header + "\n" + d1 + "," + u + ",1\n\n\n", 1, ""},
		{"trailing blank lines CRLF", Header + "\r\n" + d1 + "," + u + ",1\r\n\r\n\r\n", 1, ""},
		{"trailing empty rows", Header + "\r\n" + d1 + "," + u + ",1\r\n,,\r\n,,\r\n", 1, ""},
		{"byte order mark and header only", "\ufeff" + Header + "\r\n\r\n", 0, "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, err := Parse([]byte(tc.file))
			if tc.line == "" {
				if err != nil || len(rows) != tc.rows {
					t.Fatalf("got %d rows, %v", len(rows), err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.line+":") {
				t.Fatalf("got %v, want %s at %s", err, ErrMalformed, tc.line)
			}
		})
	}
}

// TestParseDeviceErrorsSayWhatToFix: an RA operator reading the error of a
// spreadsheet's file learns the line and what to change on it.
func TestParseDeviceErrorsSayWhatToFix(t *testing.T) {
	t.Parallel()
	const d1, d2, u = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "90-B3-D5-1F-30-01-00-01"
	for _, tc := range []struct{ name, file, want string }{
		{"blank line between devices", Header + "\n" + d1 + "," + u + ",1\n\n" + d2 + "," + u + ",1\n", "line 3: the line is blank: remove it"},
		{"empty row between devices", Header + "\r\n" + d1 + "," + u + ",1\r\n,,\r\n" + d2 + "," + u + ",1\r\n", "line 3: the line is blank: remove it"},
		{"quoted cell", Header + "\n\"" + d1 + "\"," + u + ",1\n", "line 2: a cell is quoted: save the file without quotes"},
		{"too few fields", Header + "\n" + d1 + "," + u + "\n", "line 2: 2 fields, want 3 (" + Header + ")"},
	} {
		_, err := Parse([]byte(tc.file))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseDeviceRegistrations(t *testing.T) {
	t.Parallel()
	const d1, u, es, no = "00-DB-12-34-56-78-90-A0", "90-B3-D5-1F-30-01-00-01", "90-B3-D5-1F-30-04-00-01", "90-B3-D5-1F-30-05-00-01"
	h := HeaderRegistrations + "\n"
	tests := []struct {
		name, file string
		regs       int
		line       string
	}{
		{"all", h + d1 + "," + u + ",2," + es + ",," + no + ",2026-01-01T00:00:00Z\n", 2, ""},
		{"none", h + d1 + "," + u + ",2,,,,\n", 0, ""},
		{"bad time", h + d1 + "," + u + ",2," + es + ",,,tomorrow\n", 0, "line 2"},
		{"bad user", h + d1 + "," + u + ",2,x,,,\n", 0, "line 2"},
		{"zero user", h + d1 + "," + u + ",2,,00-00-00-00-00-00-00-00,,\n", 0, "line 2"},
		{"three fields", h + d1 + "," + u + ",2\n", 0, "line 2"},
		{"end a registration", h + d1 + "," + u + ",2,-,,,2026-01-01T00:00:00Z\n", 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, err := Parse([]byte(tc.file))
			if tc.line == "" {
				if err != nil || len(rows) != 1 || len(rows[0].Registrations) != tc.regs {
					t.Fatalf("got %+v, %v", rows, err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.line+":") {
				t.Fatalf("got %v, want %s at %s", err, ErrMalformed, tc.line)
			}
		})
	}
}

// TestParseDeviceRemovals: the removals header, effective_to empty or RFC
// 3339, and the "-" cell that ends a registration at effective_from.
func TestParseDeviceRemovals(t *testing.T) {
	t.Parallel()
	const d1, d2, u = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "90-B3-D5-1F-30-01-00-01"
	rows, err := Parse([]byte(HeaderRemovals + "\n" + d1 + ",\n" + d2 + ",2026-01-01T01:00:00+01:00\n"))
	if err != nil || len(rows) != 2 {
		t.Fatalf("got %+v, %v", rows, err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !rows[0].Remove || !rows[0].EffectiveFrom.IsZero() || !rows[1].Remove || !rows[1].EffectiveFrom.Equal(at) || rows[1].EffectiveFrom.Location() != time.UTC {
		t.Fatalf("rows %+v", rows)
	}
	for name, file := range map[string]string{
		"bad time":   HeaderRemovals + "\n" + d1 + ",soon\n",
		"twice":      HeaderRemovals + "\n" + d1 + ",\n" + d1 + ",\n",
		"3 fields":   HeaderRemovals + "\n" + d1 + "," + u + ",2\n",
		"no devices": HeaderRemovals + "\n",
	} {
		if _, err := Parse([]byte(file)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want %v", name, err, ErrMalformed)
		}
	}
	rows, err = Parse([]byte(HeaderRegistrations + "\n" + d1 + "," + u + ",2,,-,,2026-01-01T00:00:00Z\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := rows[0].Registrations; len(r) != 1 || !r[0].User.IsZero() || r[0].Capacity != "supplier_agent" || !r[0].From.Equal(at) || !rows[0].EffectiveFrom.Equal(at) {
		t.Fatalf("end of registration parsed as %+v", rows[0])
	}
}

// FuzzParseDevices: never panics; success means every row is well formed
// and unique.
func FuzzParseDevices(f *testing.F) {
	f.Add([]byte(Header + "\n00-DB-12-34-56-78-90-A0,90-B3-D5-1F-30-01-00-01,1\n"))
	f.Add([]byte(Header + "\r\n00DB1234567890A1,90B3D51F30010001,2"))
	f.Add([]byte(Header + "\n,,\n"))
	f.Add([]byte(HeaderRemovals + "\n00-DB-12-34-56-78-90-A0,2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		seen := map[eui64.ID]bool{}
		for _, r := range rows {
			bad := r.SupplierUser.IsZero() || (r.SMETS != 1 && r.SMETS != 2)
			if r.Remove {
				bad = !r.SupplierUser.IsZero() || r.SMETS != 0 || len(r.Registrations) != 0
			}
			if r.Device.IsZero() || bad || seen[r.Device] {
				t.Fatalf("accepted bad row %+v", r)
			}
			seen[r.Device] = true
		}
	})
}

// TestFormatIsParsesInverse: what Format writes, Parse reads back as the
// same rows (smki devices export writes a file smki devices import takes
// unchanged); what one line cannot say is refused, naming the device.
func TestFormatIsParsesInverse(t *testing.T) {
	t.Parallel()
	d1, d2 := eui64.MustParse("00-DB-12-34-56-78-90-A0"), eui64.MustParse("00-DB-12-34-56-78-90-A1")
	u, es, no := eui64.MustParse("90-B3-D5-1F-30-01-00-01"), eui64.MustParse("90-B3-D5-1F-30-06-00-02"), eui64.MustParse("90-B3-D5-1F-30-06-00-01")
	from := time.Date(2026, 3, 15, 0, 0, 0, 500, time.UTC)
	for _, tc := range []struct {
		name   string
		rows   []Row
		header string
	}{
		{"plain", []Row{{Device: d1, SupplierUser: u, SMETS: 1}, {Device: d2, SupplierUser: u, SMETS: 2}}, Header},
		{"registrants at once", []Row{{Device: d1, SupplierUser: u, SMETS: 1,
			Registrations: []bundle.Registration{{Capacity: policy.ExportSupplier, User: es}, {Capacity: policy.NetworkOperator, User: no}}},
			{Device: d2, SupplierUser: u, SMETS: 2}}, HeaderRegistrations},
		{"ended, from a time with nanoseconds", []Row{{Device: d1, SupplierUser: u, SMETS: 2, EffectiveFrom: from,
			Registrations: []bundle.Registration{{Capacity: policy.SupplierAgent, From: from}}}}, HeaderRegistrations},
	} {
		data, err := Format(tc.rows)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.HasPrefix(string(data), tc.header+"\n") {
			t.Errorf("%s: header of\n%s\nwant %s", tc.name, data, tc.header)
		}
		got, err := Parse(data)
		for i := range got {
			got[i].Line = 0
		}
		if err != nil || !reflect.DeepEqual(got, tc.rows) {
			t.Errorf("%s: Parse(Format(rows)) = %+v, %v\nwant %+v\n%s", tc.name, got, err, tc.rows, data)
		}
	}
	for name, r := range map[string]Row{
		"two registrants in one capacity": {Device: d1, SupplierUser: u, SMETS: 1, Registrations: []bundle.Registration{
			{Capacity: policy.NetworkOperator, User: no}, {Capacity: policy.NetworkOperator, User: es, From: from}}},
		"a registration from another time": {Device: d1, SupplierUser: u, SMETS: 1, Registrations: []bundle.Registration{
			{Capacity: policy.NetworkOperator, User: no, From: from}}},
		"a capacity the file has no column for": {Device: d1, SupplierUser: u, SMETS: 1, Registrations: []bundle.Registration{
			{Capacity: policy.ImportSupplier, User: u}}},
		"a removal": {Device: d1, Remove: true},
	} {
		if _, err := Format([]Row{r}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), d1.String()) {
			t.Errorf("%s: %v, want %v naming %s", name, err, ErrMalformed, d1)
		}
	}
}
