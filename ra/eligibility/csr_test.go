package eligibility

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/role"
)

// TestCSRSubjectMismatchSaysHow: a CSR made for another User ID (an SRP
// with two SC users, one CSR sent for the wrong one) is refused
// E_RA_CSR_MISMATCH with the smki csr command that makes the right one.
func TestCSRSubjectMismatchSaysHow(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, want := eui64.MustParse("90-B3-D5-1F-30-05-00-01"), eui64.MustParse("90-B3-D5-1F-30-05-00-00")
	pemCSR, err := NewCSR(key, other, role.SoLRContingency, ca.XMLSigning, "")
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR("CSR", pemCSR)
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckCSRSubject(csr, want, role.SoLRContingency, ca.XMLSigning)
	if !errors.Is(err, raerr.ErrCSRMismatch) || !strings.Contains(err.Error(), "smki csr --user-id 90-B3-D5-1F-30-05-00-00 --profile xml-signing --role SC") {
		t.Errorf("got %v, want E_RA_CSR_MISMATCH naming the smki csr that makes the right CSR", err)
	}
}
