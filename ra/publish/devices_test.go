package publish

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// TestDevicesSectionFollowsTheRecords: a bundle's devices section is
// decoded again exactly when a device record changed (its bytes, one
// added, one removed), equals what the records decode to at every step,
// and its change changes the content hash.
func TestDevicesSectionFollowsTheRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	supplier := eui64.MustParse("90-B3-D5-1F-30-01-00-01")
	dev := func(i byte, smets int) records.Device {
		return records.Device{Device: eui64.ID{0x00, 0xDB, 0, 0, 0, 0, 0, i}, SupplierUser: supplier, SMETS: smets,
			ImportedBy: "ra-1", ImportedAt: now}
	}
	put := func(ds ...records.Device) {
		t.Helper()
		if err := f.st.Update(ctx, func(tx store.Tx) error {
			for _, d := range ds {
				if err := tx.PutRecord(records.KindDevice, d.Device.String(), records.EncodeDevice(d)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	p := New(f.st, nil, func() time.Time { return now }, slog.New(slog.DiscardHandler), time.Hour, nil)
	var last string
	step := func(name string, wantDevices, wantDecodes int) {
		t.Helper()
		b, digests, err := p.build(ctx, Omitted)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want []bundle.Device
		if err := f.st.View(ctx, func(tx store.Tx) error {
			ds, err := records.ListDevices(tx)
			for _, d := range ds {
				want = append(want, bundle.Device{Device: d.Device, SupplierUser: d.SupplierUser, SMETS: d.SMETS,
					Registrations: d.Registrations, Until: d.Until})
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(b.Devices) != wantDevices || (len(want) > 0 || len(b.Devices) > 0) && !reflect.DeepEqual(b.Devices, want) {
			t.Errorf("%s: devices %+v, the records decode to %+v (want %d)", name, b.Devices, want, wantDevices)
		}
		if p.devices.builds != wantDecodes {
			t.Errorf("%s: the devices were decoded %d times, want %d", name, p.devices.builds, wantDecodes)
		}
		h, err := bundleContentHash(b, digests)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := bundleContentHash(b, sectionDigests{}); again != h {
			t.Errorf("%s: content hash %s with the cached digests, %s computed", name, h, again)
		}
		if h == last {
			t.Errorf("%s: the content hash did not change", name)
		}
		last = h
	}
	step("none", 0, 1)
	put(dev(1, 2), dev(2, 2), dev(3, 1))
	step("three", 3, 2)
	b, _, err := p.build(ctx, Omitted)
	if err != nil || p.devices.builds != 2 || len(b.Devices) != 3 {
		t.Fatalf("unchanged records: %d decodes, %d devices, %v; want 2, 3", p.devices.builds, len(b.Devices), err)
	}
	put(dev(2, 1))
	step("one changed", 3, 3)
	if err := f.st.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteRecord(records.KindDevice, dev(1, 2).Device.String())
	}); err != nil {
		t.Fatal(err)
	}
	step("one removed", 2, 4)
}
