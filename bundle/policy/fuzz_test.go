package policy

import (
	"bytes"
	"testing"

	"github.com/smki/smki/internal/errcodes"
	"github.com/smki/smki/role"
)

// FuzzParse: an eligibility document (a bundle carries one; an operator
// hands one to the RA) either fails with a coded error or round-trips:
// MarshalJSON of what Parse accepted parses again to a document that
// marshals to the same bytes (MarshalJSON's contract, for any input).
func FuzzParse(f *testing.F) {
	// Small seeds: the 13 KiB default file makes each minimisation long
	// and the smoke run (20000x) slow.
	f.Add([]byte(`{"version":1,"variants":{"1.1.1":{"name":"x","critical":false,"roles":["IS","ES"]},"4.10":{"name":"y\u00e9","critical":true,"roles":["GS"]}}}`))
	f.Add([]byte(`{"version":1,"variants":{"1.1":{"name":"x","critical":true,"roles":[]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			errcodes.CodedFrom(t, err, data)
			return
		}
		once, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("marshal of an accepted document: %v", err)
		}
		back, err := Parse(once)
		if err != nil {
			t.Fatalf("marshalled document does not parse: %v\n%s", err, once)
		}
		twice, err := back.MarshalJSON()
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the document:\n%s\n%s", once, twice)
		}
	})
}

// FuzzParseDeviceRules: a device-rule document either fails with a coded
// error or holds a rule for every role role.All knows, each of the kind
// and capacity ParseDeviceRules promises.
func FuzzParseDeviceRules(f *testing.F) {
	f.Add(defaultDeviceFile)
	f.Add([]byte(`{"version":1,"roles":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDeviceRules(data)
		if err != nil {
			errcodes.CodedFrom(t, err, data)
			return
		}
		for _, r := range role.All() {
			x, ok := d.Rule(r)
			if !ok || x.Role != r || x.Source == "" {
				t.Fatalf("accepted document has no whole rule for %s: %+v", r, x)
			}
			if (x.Kind == Registered) != x.Capacity.Valid() {
				t.Fatalf("role %s: kind %q with capacity %q", r, x.Kind, x.Capacity)
			}
		}
		if len(d.All()) != len(role.All()) {
			t.Fatalf("accepted %d rules for %d roles", len(d.All()), len(role.All()))
		}
	})
}
