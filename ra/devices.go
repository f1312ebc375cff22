package ra

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/store"
)

// DeviceHeader is the required first line of a device file (DESIGN.md 5).
const DeviceHeader = "device_eui64,supplier_user_id,smets"

// MaxDeviceFile caps a device file: a million lines of at most 50 bytes.
const MaxDeviceFile = 48 << 20

// DeviceRow is one parsed line of a device file.
type DeviceRow struct {
	Line         int
	Device       eui64.ID
	SupplierUser eui64.ID
	SMETS        int
}

// ParseDevices strictly parses a device file: the header line exactly,
// then one `device_eui64,supplier_user_id,smets` per line (LF or CRLF; a
// final newline is optional; no blank lines, quotes or extra fields),
// non-zero EUI-64s, smets 1 or 2, no device twice. The error (ErrDeviceFile)
// names the first bad line.
func ParseDevices(data []byte) ([]DeviceRow, error) {
	bad := func(line int, format string, a ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrDeviceFile, line, fmt.Sprintf(format, a...))
	}
	if len(data) > MaxDeviceFile {
		return nil, fmt.Errorf("%w: file is %d bytes, over %d", ErrDeviceFile, len(data), MaxDeviceFile)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8 text", ErrDeviceFile)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	lines := strings.Split(string(data), "\n")
	if strings.TrimSuffix(lines[0], "\r") != DeviceHeader {
		return nil, bad(1, "header %q, want %q", lines[0], DeviceHeader)
	}
	out := make([]DeviceRow, 0, len(lines)-1)
	seen := make(map[eui64.ID]int, len(lines)-1)
	for i, l := range lines[1:] {
		n := i + 2
		l = strings.TrimSuffix(l, "\r")
		f := strings.Split(l, ",")
		if len(f) != 3 {
			return nil, bad(n, "%d fields, want 3", len(f))
		}
		dev, err := eui64.Parse(f[0])
		if err != nil || dev.IsZero() {
			return nil, bad(n, "device_eui64 %q is not a non-zero EUI-64", f[0])
		}
		sup, err := eui64.Parse(f[1])
		if err != nil || sup.IsZero() {
			return nil, bad(n, "supplier_user_id %q is not a non-zero EUI-64", f[1])
		}
		smets, err := strconv.Atoi(f[2])
		if err != nil || (smets != 1 && smets != 2) || len(f[2]) != 1 {
			return nil, bad(n, "smets %q, want 1 or 2", f[2])
		}
		if prev, dup := seen[dev]; dup {
			return nil, bad(n, "device %s already on line %d", dev, prev)
		}
		seen[dev] = n
		out = append(out, DeviceRow{Line: n, Device: dev, SupplierUser: sup, SMETS: smets})
	}
	if len(out) == 0 {
		return nil, bad(2, "no devices")
	}
	return out, nil
}

// ImportResult says what a device import did.
type ImportResult struct {
	Devices int `json:"devices"` // lines imported
	Added   int `json:"added"`   // devices not registered before
	Changed int `json:"changed"` // devices whose supplier or SMETS changed
}

// ImportDevices registers every device of a device file in one
// transaction, all or nothing: an ra-operator only; every supplier user
// must exist and be a supplier user (IS, ES, GS), else the error names
// the line. A device already registered is re-registered (change of
// supplier).
func (s *Service) ImportDevices(ctx context.Context, a Actor, data []byte) (ImportResult, error) {
	rows, err := ParseDevices(data)
	if err != nil {
		s.refusedOf(ctx, a, ActImportDevice, "devices", err)
		return ImportResult{}, err
	}
	var res ImportResult
	err = s.change(ctx, a, ActImportDevice, "devices", func(tx store.Tx, me store.Officer) (string, error) {
		if err := Authorize(me, ActImportDevice, Target{}); err != nil {
			return "", err
		}
		res = ImportResult{Devices: len(rows)}
		suppliers := map[eui64.ID]error{}
		now := s.now().UTC()
		for _, r := range rows {
			serr, ok := suppliers[r.SupplierUser]
			if !ok {
				serr = checkSupplierUser(tx, r.SupplierUser)
				suppliers[r.SupplierUser] = serr
			}
			if serr != nil {
				return "", fmt.Errorf("%w: line %d: %v", ErrDeviceFile, r.Line, serr)
			}
			old, err := getDevice(tx, r.Device)
			switch {
			case errIsNotFound(err):
				res.Added++
			case err != nil:
				return "", err
			case old.SupplierUser != r.SupplierUser || old.SMETS != r.SMETS:
				res.Changed++
			}
			d := Device{Device: r.Device, SupplierUser: r.SupplierUser, SMETS: r.SMETS, ImportedBy: me.ID, ImportedAt: now}
			if err := tx.PutRecord(kindDevice, r.Device.String(), encodeDevice(d)); err != nil {
				return "", fmt.Errorf("%w: device %s: %w", ErrInternal, r.Device, err)
			}
		}
		return fmt.Sprintf("devices=%d added=%d changed=%d", res.Devices, res.Added, res.Changed), nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

func checkSupplierUser(tx store.Tx, id eui64.ID) error {
	u, err := tx.GetUser(id.String())
	if err != nil {
		if errIsNotFound(err) {
			return fmt.Errorf("supplier user %s is unknown", id)
		}
		return err
	}
	if !isSupplierRole(u.Role) {
		return fmt.Errorf("user %s has User Role %s, not a supplier role (IS, ES, GS)", id, u.Role)
	}
	return nil
}

// ListDevices returns the registry, optionally of one supplier user. RA
// officers see every device; party officers only those of their own
// party's supplier users, and must name one (--supplier).
func (s *Service) ListDevices(ctx context.Context, a Actor, supplier eui64.ID) ([]Device, error) {
	var out []Device
	subject := "devices"
	if !supplier.IsZero() {
		subject = "devices:supplier:" + supplier.String()
	}
	err := s.read(ctx, a, ActReadDevices, subject, func(tx store.Tx, me store.Officer) error {
		pid := ""
		if !supplier.IsZero() {
			u, err := tx.GetUser(supplier.String())
			if err != nil {
				return storeErr("user "+supplier.String(), err)
			}
			pid = u.PartyID
		}
		if pid == "" && !IsRAKind(me.Kind) {
			return fmt.Errorf("%w: %s %s may list only the devices of its own party's supplier users", ErrForbidden, me.Kind, me.ID)
		}
		if err := Authorize(me, ActReadDevices, Target{PartyID: pid}); err != nil {
			return err
		}
		all, err := listDevices(tx)
		if err != nil {
			return err
		}
		out = []Device{}
		for _, d := range all {
			if supplier.IsZero() || d.SupplierUser == supplier {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

// Device records are the one record kind that grows to millions and is
// read whole for every bundle, so they use a fixed binary layout rather
// than JSON (decoding JSON dominated the bundle export): device (8 bytes),
// supplier user (8), SMETS (1), import time in Unix nanoseconds (8, big
// endian), then the importing officer's ID.
const deviceRecordFixed = 8 + 8 + 1 + 8

func encodeDevice(d Device) []byte {
	b := make([]byte, 0, deviceRecordFixed+len(d.ImportedBy))
	b = append(b, d.Device[:]...)
	b = append(b, d.SupplierUser[:]...)
	b = append(b, byte(d.SMETS))
	b = binary.BigEndian.AppendUint64(b, uint64(d.ImportedAt.UnixNano()))
	return append(b, d.ImportedBy...)
}

func decodeDevice(b []byte) (Device, error) {
	var d Device
	if len(b) < deviceRecordFixed {
		return d, fmt.Errorf("%w: device record of %d bytes", ErrInternal, len(b))
	}
	copy(d.Device[:], b[0:8])
	copy(d.SupplierUser[:], b[8:16])
	d.SMETS = int(b[16])
	d.ImportedAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[17:25]))).UTC()
	d.ImportedBy = string(b[25:])
	return d, nil
}

// getDevice reads one device record (store.ErrNotFound if none).
func getDevice(tx store.Tx, id eui64.ID) (Device, error) {
	b, err := tx.GetRecord(kindDevice, id.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Device{}, err
		}
		return Device{}, fmt.Errorf("%w: device %s: %w", ErrInternal, id, err)
	}
	return decodeDevice(b)
}

// listDevices returns the whole registry in device-ID order.
func listDevices(tx store.Tx) ([]Device, error) {
	recs, err := tx.ListRecords(kindDevice, "", 0)
	if err != nil {
		return nil, fmt.Errorf("%w: list devices: %w", ErrInternal, err)
	}
	out := make([]Device, 0, len(recs))
	for _, r := range recs {
		d, err := decodeDevice(r.Value)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", r.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}
