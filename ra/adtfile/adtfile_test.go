package adtfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
)

func TestParseADT(t *testing.T) {
	t.Parallel()
	sc, sup := eui64.MustParse("90-B3-D5-1F-30-01-00-02"), eui64.MustParse("90-B3-D5-1F-30-01-00-01")
	ok := `{"srv":"1.6","period":"24h","warning":10,"quarantine":20}`
	tests := []struct {
		name string
		file string
		want error
	}{
		{"good", string(adtJSON(sc, sup, ok)), nil},
		{"warning equals quarantine", string(adtJSON(sc, sup, `{"srv":"1.6","period":"1h","warning":5,"quarantine":5}`)), nil},
		{"not JSON", "srv=1.6", ErrFormat},
		{"wrong format tag", `{"format":"smki-adt/2","sc_user":"` + sc.String() + `","supplier_user":"` + sup.String() + `","thresholds":[` + ok + `]}`, ErrFormat},
		{"unknown field", `{"format":"smki-adt/1","extra":1,"sc_user":"` + sc.String() + `","supplier_user":"` + sup.String() + `","thresholds":[` + ok + `]}`, ErrFormat},
		{"trailing data", string(adtJSON(sc, sup, ok)) + "{}", ErrFormat},
		{"bad sc user", `{"format":"smki-adt/1","sc_user":"nope","supplier_user":"` + sup.String() + `","thresholds":[` + ok + `]}`, ErrFormat},
		{"no thresholds", string(adtJSON(sc, sup)), ErrFormat},
		{"bad SRV syntax", string(adtJSON(sc, sup, `{"srv":"1.06","period":"24h","warning":1,"quarantine":2}`)), ErrSRV},
		{"SRV twice", string(adtJSON(sc, sup, ok, ok)), ErrSRV},
		{"zero period", string(adtJSON(sc, sup, `{"srv":"1.6","period":"0s","warning":1,"quarantine":2}`)), ErrThreshold},
		{"negative period", string(adtJSON(sc, sup, `{"srv":"1.6","period":"-1h","warning":1,"quarantine":2}`)), ErrThreshold},
		{"warning above quarantine", string(adtJSON(sc, sup, `{"srv":"1.6","period":"1h","warning":3,"quarantine":2}`)), ErrThreshold},
		{"negative warning", string(adtJSON(sc, sup, `{"srv":"1.6","period":"1h","warning":-1,"quarantine":2}`)), ErrThreshold},
		// A verifier keeps every accepted request's time for one period,
		// up to quarantine of them: both are bounded (bundle.MaxADTPeriod,
		// bundle.MaxADTQuarantine).
		{"period at the bound", string(adtJSON(sc, sup, `{"srv":"1.6","period":"744h","warning":1,"quarantine":10000000}`)), nil},
		{"period over the bound", string(adtJSON(sc, sup, `{"srv":"1.6","period":"745h","warning":1,"quarantine":2}`)), ErrThreshold},
		{"quarantine over the bound", string(adtJSON(sc, sup, `{"srv":"1.6","period":"24h","warning":1,"quarantine":10000001}`)), ErrThreshold},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, gotSC, gotSup, err := Parse([]byte(tc.file))
			if tc.want == nil {
				if err != nil || gotSC != sc || gotSup != sup {
					t.Fatalf("Parse: %v %s %s", err, gotSC, gotSup)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParseADT: never panics; every error is coded; success satisfies the
// documented invariants.
func FuzzParseADT(f *testing.F) {
	f.Add(adtJSON(eui64.MustParse("90-B3-D5-1F-30-01-00-02"), eui64.MustParse("90-B3-D5-1F-30-01-00-01"),
		`{"srv":"1.6","period":"24h","warning":1,"quarantine":2}`))
	f.Add([]byte(`{"format":"smki-adt/1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, sc, sup, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrSRV) && !errors.Is(err, ErrThreshold) {
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

func adtJSON(sc, sup eui64.ID, ths ...string) []byte {
	return []byte(fmt.Sprintf(`{"format":"smki-adt/1","sc_user":"%s","supplier_user":"%s","thresholds":[%s]}`,
		sc, sup, strings.Join(ths, ",")))
}

// TestParseADTSaysLineAndColumn: RA staff write ADT files by hand,
// indented over many lines, and find a mistake by line: a syntax error,
// bytes that are not UTF-8, a member misspelt or given twice, a value of
// the wrong type or data after the object is reported at its line and
// column (in characters, from 1), under the stable code E_RA_ADT_FORMAT.
// Before, the syntax errors said only a byte offset ("unexpected \"\\\"\"
// at offset 115") and the member errors nothing of where.
func TestParseADTSaysLineAndColumn(t *testing.T) {
	t.Parallel()
	file := func(threshold string) string {
		return "{\n  \"format\": \"smki-adt/1\",\n  \"sc_user\": \"90-B3-D5-1F-30-01-00-02\",\n" +
			"  \"supplier_user\": \"90-B3-D5-1F-30-01-00-01\",\n  \"thresholds\": [\n" + threshold + "\n  ]\n}\n"
	}
	tests := []struct {
		name, threshold, want string
	}{
		{"missing comma", `    {"srv": "1.6" "period": "24h", "warning": 10, "quarantine": 20}`, `line 6, column 19`},
		{"trailing comma", `    {"srv": "1.6", "period": "24h", "warning": 10, "quarantine": 20,}`, `line 6, column 69`},
		{"after a multi-byte character", `    {"srv": "1.6é" "period": "24h", "warning": 10, "quarantine": 20}`, `line 6, column 20`},
		{"not UTF-8", "    {\"srv\": \"1.6\xff\", \"period\": \"24h\", \"warning\": 10, \"quarantine\": 20}", `line 6, column 17`},
		{"unknown member", `    {"srv": "1.6", "periods": "24h", "warning": 10, "quarantine": 20}`, `line 6, column 20`},
		{"member twice", `    {"srv": "1.6", "srv": "1.7", "period": "24h", "warning": 10, "quarantine": 20}`, `line 6, column 20`},
		{"wrong type", `    {"srv": "1.6", "period": "24h", "warning": "10", "quarantine": 20}`, `line 6, column 48`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, _, err := Parse([]byte(file(tc.threshold)))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "offset") {
				t.Fatalf("got %v, want %v at %s (no byte offset)", err, ErrFormat, tc.want)
			}
		})
	}
	_, _, _, err := Parse([]byte(file(`    {"srv": "1.6", "period": "24h", "warning": 10, "quarantine": 20}`) + "\n{}"))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "line 10, column 1") {
		t.Fatalf("data after the object: got %v, want %v at line 10, column 1", err, ErrFormat)
	}
}
