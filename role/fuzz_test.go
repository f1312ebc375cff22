package role

import (
	"slices"
	"testing"

	"github.com/smki/smki/internal/errcodes"
)

// FuzzParseExtensionValue: a subjectDirectoryAttributes value read from a
// certificate nobody here made either fails with a coded error or yields
// roles that Extension encodes and ParseExtensionValue reads back as the
// same set (a round trip), each a role this package knows.
func FuzzParseExtensionValue(f *testing.F) {
	for _, rs := range [][]UserRole{{SoLRContingency}, All(), All()[:2]} {
		ext, err := Extension(rs...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ext.Value)
	}
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		roles, err := ParseExtensionValue(der)
		if err != nil {
			errcodes.CodedFrom(t, err, der)
			return
		}
		for _, r := range roles {
			if !r.Valid() {
				t.Fatalf("accepted unknown role %q", r)
			}
		}
		ext, err := Extension(roles...)
		if err != nil {
			t.Fatalf("accepted roles %v that Extension refuses: %v", roles, err)
		}
		back, err := ParseExtensionValue(ext.Value)
		if err != nil {
			t.Fatalf("re-encoding of %v does not parse: %v", roles, err)
		}
		slices.Sort(roles)
		slices.Sort(back)
		if !slices.Equal(roles, back) {
			t.Fatalf("round trip: %v, then %v", roles, back)
		}
	})
}
