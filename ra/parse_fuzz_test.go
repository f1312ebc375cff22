package ra

import (
	"testing"

	"github.com/smki/smki/eui64"
)

// FuzzParseDevices: never panics; success means every row is well formed
// and unique.
func FuzzParseDevices(f *testing.F) {
	f.Add([]byte(DeviceHeader + "\n00-DB-12-34-56-78-90-A0,90-B3-D5-1F-30-01-00-01,1\n"))
	f.Add([]byte(DeviceHeader + "\r\n00DB1234567890A1,90B3D51F30010001,2"))
	f.Add([]byte(DeviceHeader + "\n,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseDevices(data)
		if err != nil {
			if CodeOf(err) != ErrDeviceFile.Error() {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		seen := map[eui64.ID]bool{}
		for _, r := range rows {
			if r.Device.IsZero() || r.SupplierUser.IsZero() || (r.SMETS != 1 && r.SMETS != 2) || seen[r.Device] {
				t.Fatalf("accepted bad row %+v", r)
			}
			seen[r.Device] = true
		}
	})
}

// FuzzParseADT: never panics; every error is coded; success satisfies the
// documented invariants.
func FuzzParseADT(f *testing.F) {
	f.Add(adtJSON(eui64.MustParse("90-B3-D5-1F-30-01-00-02"), eui64.MustParse("90-B3-D5-1F-30-01-00-01"),
		`{"srv":"1.6","period":"24h","warning":1,"quarantine":2}`))
	f.Add([]byte(`{"format":"smki-adt/1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, sc, sup, err := ParseADT(data)
		if err != nil {
			switch CodeOf(err) {
			case ErrADTFormat.Error(), ErrADTSRV.Error(), ErrADTThreshold.Error():
			default:
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if sc.IsZero() || sup.IsZero() || len(file.Thresholds) == 0 {
			t.Fatalf("accepted %q", data)
		}
		for _, th := range file.Thresholds {
			if th.Period <= 0 || th.Warning < 0 || th.Warning > th.Quarantine {
				t.Fatalf("accepted threshold %+v", th)
			}
		}
	})
}
