package officercmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"
)

// TestUnsaved: when the RA has issued an officer credential and writing
// it fails (here: a file in the way of --out, as ownpki.WriteCredential
// meets it), smki says so with its own code, exit 1 (the RA acted), in
// its own words, and names the re-issue that gives the officer a working
// credential: for the same CSR when there was one, for a new key when
// the RA made the key (it is held nowhere else).
func TestUnsaved(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cred := ownpki.Credential{KeyPEM: []byte("k"), CertPEM: []byte("c"), CAPEM: []byte("a"), Serial: "0a1b"}
	werr := ownpki.WriteCredential(filepath.Join(file, "aro"), cred)
	if werr == nil {
		t.Fatal("WriteCredential under a file: no error")
	}
	for _, tc := range []struct {
		name, csr string
		want      []string
	}{
		{"RA-generated key", "", []string{"smki officer keygen --out DIR", "smki officer reissue --id srp1-aro --csr DIR/officer.csr"}},
		{"appointee's CSR", "aro/officer.csr", []string{"smki officer reissue --id srp1-aro --csr aro/officer.csr --out NEWDIR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := unsaved("srp1-aro", filepath.Join(file, "aro"), tc.csr, cred, werr)
			msg := err.Error()
			if !errors.Is(err, errUnsaved) || !strings.HasPrefix(msg, "E_CREDENTIAL_UNSAVED: ") || verb.ExitCode(err) != verb.ExitError {
				t.Errorf("got exit %d %q, want exit 1 starting E_CREDENTIAL_UNSAVED", verb.ExitCode(err), msg)
			}
			for _, w := range append(tc.want, "serial 0a1b", "a file is in the way") {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if m := librarytext.Find(msg); m != "" || strings.Contains(msg, "not a directory") || strings.Contains(msg, "E_RA_ACCESS_CA") {
				t.Errorf("library text or the access CA's code in %q", msg)
			}
		})
	}
}

// TestAppointRefusal: officer add refused E_RA_EXISTS (as when sent again
// after its answer was lost) names the re-issue that gives the officer a
// credential: for the same CSR when the appointee sent one (their key is
// theirs), for a new key when the RA made the lost one; other refusals
// pass unchanged.
func TestAppointRefusal(t *testing.T) {
	t.Parallel()
	exists := &raclient.APIError{Status: 409, Code: "E_RA_EXISTS", Message: "officer srp1-aro already exists; choose another ID"}
	party := eui64.MustParse("90-B3-D5-1F-30-00-00-5C")
	for _, tc := range []struct {
		csr  string
		want string
	}{
		{"aro/officer.csr", "smki officer reissue --id srp1-aro --csr aro/officer.csr --out DIR"},
		{"", "smki officer keygen --out DIR"},
	} {
		err := appointRefusal(exists, "srp1-aro", party, tc.csr)
		if !errors.Is(err, ra.ErrExists) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "smki officer list --party 90-B3-D5-1F-30-00-00-5C") {
			t.Errorf("csr %q: %v, want E_RA_EXISTS naming %q", tc.csr, err, tc.want)
		}
	}
	other := &raclient.APIError{Status: 403, Code: "E_RA_FORBIDDEN", Message: "no"}
	if err := appointRefusal(other, "srp1-aro", party, ""); err != other {
		t.Errorf("E_RA_FORBIDDEN became %v", err)
	}
}
