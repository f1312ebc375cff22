package records

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"testing"
)

// TestPEMCertEqualsEncodeToMemory: PEMCert writes the bytes
// pem.EncodeToMemory does, for every length around the line boundaries
// (48 DER bytes a 64-character line) and a certificate's size.
func TestPEMCertEqualsEncodeToMemory(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 143, 144, 145, 600, 1023, 1024} {
		der := make([]byte, n)
		rand.Read(der)
		want := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		got := PEMCert(der)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes:\n%s\nwant\n%s", n, got, want)
		}
		if cap(got) != len(got) {
			t.Errorf("%d bytes: capacity %d for %d bytes (not sized once)", n, cap(got), len(got))
		}
	}
}
