// Package devicefile owns the device file format (devices.csv,
// docs/cli.md "devices import"): its two header lines and its strict
// line parser with a size limit. It knows nothing of the store or of who
// may import: package ra checks the users named and records the devices
// (Service.ImportDevices). It must not import ra.
package devicefile

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
)

// ErrMalformed is a device file that does not parse (the message names
// the line); package ra reports it as ra.ErrDeviceFile, same code.
var ErrMalformed = errors.New("E_RA_DEVICE_FILE")

// Header is the first line of a device file (docs/cli.md, "devices import").
const Header = "device_eui64,supplier_user_id,smets"

// HeaderRegistrations is the first line of a device file that also
// carries the device's other registrants (docs/cli.md, "devices import"):
// its export supplier (an ES user), supplier agent (RSA) and network
// operator (ED or GT), each optional (an empty cell leaves that
// registration as it is), and effective_from, when they take effect
// (RFC 3339; empty: at once, replacing earlier registrations in the same
// capacity). A cell of "-" ends the registration in that capacity at
// effective_from. A change of the supplier_user_id takes effect at
// effective_from too (the old supplier stays registered until then).
const HeaderRegistrations = Header + ",export_supplier_user_id,supplier_agent_user_id,network_operator_user_id,effective_from"

// HeaderRemovals is the first line of a device file that removes devices
// from the registry: each line a registered device and effective_to, when
// it leaves (RFC 3339; empty: at once).
const HeaderRemovals = "device_eui64,effective_to"

// byteOrderMark is what a spreadsheet's "CSV UTF-8" puts before the header.
const byteOrderMark = "\ufeff"

// blank: a line with no cell, as a spreadsheet writes for an empty row
// (",,") or after its last one.
func blank(l string) bool { return strings.Trim(l, ", \t\r") == "" }

// EndRegistration is the cell that ends a registration (HeaderRegistrations).
const EndRegistration = "-"

// capacities are the capacities of the extra columns, in order.
var capacities = [3]policy.Capacity{policy.ExportSupplier, policy.SupplierAgent, policy.NetworkOperator}

// MaxSize caps a device file: a million lines of at most 50 bytes.
const MaxSize = 48 << 20

// Row is one parsed line of a device file.
type Row struct {
	Line          int
	Device        eui64.ID
	SupplierUser  eui64.ID
	SMETS         int
	Registrations []bundle.Registration // from the extra columns, if any; a zero User ends the capacity
	// EffectiveFrom is the row's effective_from (HeaderRegistrations),
	// zero when empty.
	EffectiveFrom time.Time
	// Remove: a HeaderRemovals row, the device leaving the registry at
	// EffectiveFrom (zero: at once); SupplierUser and SMETS are unset.
	Remove bool
}

// Parse strictly parses a device file: the header line exactly
// (Header, HeaderRegistrations or HeaderRemovals), then one line per
// device with the header's fields (LF or CRLF; no blank lines between
// devices, quotes or extra fields), non-zero EUI-64s, smets 1 or 2, no
// device twice; with registrations, each extra user empty or a non-zero
// EUI-64 (or "-", EndRegistration) and effective_from empty or RFC 3339;
// with removals, effective_to empty or RFC 3339. What a spreadsheet adds
// when it saves CSV is no line: a UTF-8 byte order mark before the header
// and blank or comma-only lines after the last device. The error
// (ErrMalformed) names the first bad line and what to change on it.
func Parse(data []byte) ([]Row, error) {
	bad := func(line int, format string, a ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrMalformed, line, fmt.Sprintf(format, a...))
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: file is %d bytes, over %d", ErrMalformed, len(data), MaxSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8 text", ErrMalformed)
	}
	data = bytes.TrimPrefix(data, []byte(byteOrderMark))
	lines := strings.Split(string(data), "\n")
	for len(lines) > 1 && blank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	header := strings.TrimSuffix(lines[0], "\r")
	fields := 3
	switch header {
	case Header:
	case HeaderRegistrations:
		fields = 7
	case HeaderRemovals:
		fields = 2
	default:
		return nil, bad(1, "header %q, want %q, %q or %q", header, Header, HeaderRegistrations, HeaderRemovals)
	}
	out := make([]Row, 0, len(lines)-1)
	seen := make(map[eui64.ID]int, len(lines)-1)
	for i, l := range lines[1:] {
		n := i + 2
		l = strings.TrimSuffix(l, "\r")
		if blank(l) {
			return nil, bad(n, "the line is blank: remove it (blank lines may follow the last device, not come between devices)")
		}
		if strings.Contains(l, `"`) {
			return nil, bad(n, "a cell is quoted: save the file without quotes (no cell of a device file needs them)")
		}
		f := strings.Split(l, ",")
		if len(f) != fields {
			return nil, bad(n, "%d fields, want %d (%s)", len(f), fields, header)
		}
		dev, err := eui64.Parse(f[0])
		if err != nil || dev.IsZero() {
			return nil, bad(n, "device_eui64 %q is not a non-zero EUI-64", f[0])
		}
		if prev, dup := seen[dev]; dup {
			return nil, bad(n, "device %s already on line %d", dev, prev)
		}
		seen[dev] = n
		if fields == 2 {
			row := Row{Line: n, Device: dev, Remove: true}
			if f[1] != "" {
				if row.EffectiveFrom, err = parseTime(f[1]); err != nil {
					return nil, bad(n, "effective_to %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", f[1])
				}
			}
			out = append(out, row)
			continue
		}
		sup, err := eui64.Parse(f[1])
		if err != nil || sup.IsZero() {
			return nil, bad(n, "supplier_user_id %q is not a non-zero EUI-64", f[1])
		}
		smets, err := strconv.Atoi(f[2])
		if err != nil || (smets != 1 && smets != 2) || len(f[2]) != 1 {
			return nil, bad(n, "smets %q, want 1 or 2", f[2])
		}
		row := Row{Line: n, Device: dev, SupplierUser: sup, SMETS: smets}
		if fields == 7 {
			var from time.Time
			if f[6] != "" {
				if from, err = parseTime(f[6]); err != nil {
					return nil, bad(n, "effective_from %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", f[6])
				}
			}
			row.EffectiveFrom = from
			for i, c := range capacities {
				cell := f[3+i]
				if cell == "" {
					continue
				}
				if cell == EndRegistration {
					row.Registrations = append(row.Registrations, bundle.Registration{Capacity: c, From: from})
					continue
				}
				u, err := eui64.Parse(cell)
				if err != nil || u.IsZero() {
					return nil, bad(n, "%s user %q is not a non-zero EUI-64", c, cell)
				}
				row.Registrations = append(row.Registrations, bundle.Registration{Capacity: c, User: u, From: from})
			}
		}
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil, bad(2, "no devices")
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

// Format writes rows as a device file that Parse reads back as the same
// rows (their Line aside): Header when no row has registrations or an
// effective_from, else HeaderRegistrations, one line per row in the order
// given, LF. It is the inverse of Parse for what a device file can say:
// in each row at most one registration per capacity, each taking effect
// at the row's EffectiveFrom; a removal row, or a row that says more, is
// an error naming the device (ErrMalformed), and nothing is written.
func Format(rows []Row) ([]byte, error) {
	wide := false
	for _, r := range rows {
		if r.Remove {
			return nil, fmt.Errorf("%w: device %s: a removal is not written by Format", ErrMalformed, r.Device)
		}
		if len(r.Registrations) > 0 || !r.EffectiveFrom.IsZero() {
			wide = true
		}
	}
	var b bytes.Buffer
	if wide {
		b.WriteString(HeaderRegistrations)
	} else {
		b.WriteString(Header)
	}
	b.WriteByte('\n')
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%d", r.Device, r.SupplierUser, r.SMETS)
		if !wide {
			b.WriteByte('\n')
			continue
		}
		var cells [len(capacities)]string
		for _, g := range r.Registrations {
			i := slices.Index(capacities[:], g.Capacity)
			if i < 0 || cells[i] != "" || !g.From.Equal(r.EffectiveFrom) {
				return nil, fmt.Errorf("%w: device %s: registration %s %s from %s does not fit one line (one registrant per capacity, from the line's effective_from)",
					ErrMalformed, r.Device, g.Capacity, g.User, g.From.UTC().Format(time.RFC3339))
			}
			cells[i] = EndRegistration
			if !g.User.IsZero() {
				cells[i] = g.User.String()
			}
		}
		from := ""
		if !r.EffectiveFrom.IsZero() {
			from = r.EffectiveFrom.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, ",%s,%s\n", strings.Join(cells[:], ","), from)
	}
	return b.Bytes(), nil
}
