package records

import (
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
)

func TestDeviceRecordRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 14, 9, 26, 53, 1234567, time.UTC)
	for _, d := range []Device{
		{Device: eui64.MustParse("00-DB-12-34-56-78-90-A0"), SupplierUser: eui64.MustParse("90-B3-D5-1F-30-01-00-01"), SMETS: 2, ImportedBy: "admin", ImportedAt: at},
		{Device: eui64.MustParse("FF-FF-FF-FF-FF-FF-FF-FF"), SupplierUser: eui64.MustParse("00-00-00-00-00-00-00-01"), SMETS: 1, ImportedAt: at},
		{Device: eui64.MustParse("00-DB-12-34-56-78-90-A1"), SupplierUser: eui64.MustParse("90-B3-D5-1F-30-01-00-01"), SMETS: 2, ImportedBy: "admin", ImportedAt: at,
			Registrations: []bundle.Registration{{Capacity: policy.NetworkOperator, User: eui64.MustParse("90-B3-D5-1F-30-05-00-01")},
				{Capacity: policy.SupplierAgent, User: eui64.MustParse("90-B3-D5-1F-30-05-00-02"), From: at}}},
		// Leaving the registry, with and without registrations, one of them ended.
		{Device: eui64.MustParse("00-DB-12-34-56-78-90-A2"), SupplierUser: eui64.MustParse("90-B3-D5-1F-30-01-00-01"), SMETS: 2, ImportedBy: "admin", ImportedAt: at, Until: at},
		{Device: eui64.MustParse("00-DB-12-34-56-78-90-A3"), SupplierUser: eui64.MustParse("90-B3-D5-1F-30-01-00-01"), SMETS: 1, ImportedBy: "admin", ImportedAt: at, Until: at.Add(time.Hour),
			Registrations: []bundle.Registration{{Capacity: policy.NetworkOperator, From: at}}},
	} {
		got, err := DecodeDevice(EncodeDevice(d))
		if err != nil || !reflect.DeepEqual(got, d) {
			t.Fatalf("round trip %+v -> %+v, %v", d, got, err)
		}
	}
	if _, err := DecodeDevice(make([]byte, deviceRecordFixed-1)); raerr.CodeOf(err) != raerr.ErrInternal.Error() {
		t.Fatalf("short record: %v", err)
	}
}
