package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// Device records are the one record kind that grows to millions and is
// read whole for every bundle, so they use a fixed binary layout rather
// than JSON (decoding JSON dominated the bundle export): device (8 bytes),
// supplier user (8), SMETS (1), import time in Unix nanoseconds (8, big
// endian), then the importing officer's ID; with registrations, a NUL
// (never in an officer ID, so older records without it read the same)
// and per registration its capacity's index in policy.Capacities (1
// byte), its user (8) and its From in Unix nanoseconds (8; 0 for none);
// Until, if set, as one more such entry with capacity byte untilMark.
const deviceRecordFixed = 8 + 8 + 1 + 8

const deviceRegistrationSize = 1 + 8 + 8

// untilMark in a registration's capacity byte marks Device.Until (its
// time in the From field, the user zero): older records never have it.
const untilMark = 0xFF

func EncodeDevice(d Device) []byte {
	b := make([]byte, 0, deviceRecordFixed+len(d.ImportedBy)+1+len(d.Registrations)*deviceRegistrationSize)
	b = append(b, d.Device[:]...)
	b = append(b, d.SupplierUser[:]...)
	b = append(b, byte(d.SMETS))
	b = binary.BigEndian.AppendUint64(b, uint64(d.ImportedAt.UnixNano()))
	b = append(b, d.ImportedBy...)
	if len(d.Registrations) == 0 && d.Until.IsZero() {
		return b
	}
	b = append(b, 0)
	if !d.Until.IsZero() {
		b = append(b, untilMark)
		b = append(b, make([]byte, 8)...)
		b = binary.BigEndian.AppendUint64(b, uint64(d.Until.UnixNano()))
	}
	for _, r := range d.Registrations {
		b = append(b, byte(slices.Index(policy.Capacities(), r.Capacity)))
		b = append(b, r.User[:]...)
		var from uint64
		if !r.From.IsZero() {
			from = uint64(r.From.UnixNano())
		}
		b = binary.BigEndian.AppendUint64(b, from)
	}
	return b
}

func DecodeDevice(b []byte) (Device, error) {
	var d Device
	if len(b) < deviceRecordFixed {
		return d, fmt.Errorf("%w: device record of %d bytes", raerr.ErrInternal, len(b))
	}
	copy(d.Device[:], b[0:8])
	copy(d.SupplierUser[:], b[8:16])
	d.SMETS = int(b[16])
	d.ImportedAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[17:25]))).UTC()
	rest := b[25:]
	nul := bytes.IndexByte(rest, 0)
	if nul < 0 {
		d.ImportedBy = string(rest)
		return d, nil
	}
	d.ImportedBy = string(rest[:nul])
	regs := rest[nul+1:]
	if len(regs)%deviceRegistrationSize != 0 || len(regs) == 0 {
		return d, fmt.Errorf("%w: device record with %d bytes of registrations", raerr.ErrInternal, len(regs))
	}
	caps := policy.Capacities()
	for ; len(regs) > 0; regs = regs[deviceRegistrationSize:] {
		if regs[0] == untilMark {
			d.Until = time.Unix(0, int64(binary.BigEndian.Uint64(regs[9:17]))).UTC()
			continue
		}
		if int(regs[0]) >= len(caps) {
			return d, fmt.Errorf("%w: device record with capacity %d", raerr.ErrInternal, regs[0])
		}
		r := bundle.Registration{Capacity: caps[regs[0]]}
		copy(r.User[:], regs[1:9])
		if n := binary.BigEndian.Uint64(regs[9:17]); n != 0 {
			r.From = time.Unix(0, int64(n)).UTC()
		}
		d.Registrations = append(d.Registrations, r)
	}
	return d, nil
}

// GetDevice reads one device record (store.ErrNotFound if none).
func GetDevice(tx store.Tx, id eui64.ID) (Device, error) {
	b, err := tx.GetRecord(KindDevice, id.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Device{}, err
		}
		return Device{}, fmt.Errorf("%w: device %s: %w", raerr.ErrInternal, id, err)
	}
	return DecodeDevice(b)
}

// ListDevices returns the whole registry in device-ID order.
func ListDevices(tx store.Tx) ([]Device, error) {
	recs, err := tx.ListRecords(KindDevice, "", 0)
	if err != nil {
		return nil, fmt.Errorf("%w: list devices: %w", raerr.ErrInternal, err)
	}
	out := make([]Device, 0, len(recs))
	for _, r := range recs {
		d, err := DecodeDevice(r.Value)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", r.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}
