package certcmd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
)

// TestReadCSR: the CLI's CSR intake, each input with its exact outcome.
// (A CSR for another User ID is refused E_RA_CSR_MISMATCH, by smki enroll
// before sending (cli TestEnrollCSRUserIDLocal) as by the RA: the e2e test
// TestEnrolCSRIntake drives it through the binary.)
func TestReadCSR(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemCSR, err := ra.NewCSR(key, eui64.MustParse("90-B3-D5-1F-30-05-00-00"), role.SoLRContingency, ca.XMLSigning, "")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemCSR)
	der := blk.Bytes
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := der[:len(der)-10]
	for name, tc := range map[string]struct {
		arg      string
		stdin    []byte
		wantCode string // "" for success
		wantExit int
	}{
		"PEM file":           {arg: file("a.csr", pemCSR)},
		"DER file":           {arg: file("a.der", der)},
		"DER named .pem":     {arg: file("der.pem", der)},
		"PEM on stdin":       {arg: "-", stdin: pemCSR},
		"DER on stdin":       {arg: "-", stdin: der},
		"garbage":            {arg: file("junk", []byte("hello, CA")), wantCode: "E_CSR_INVALID", wantExit: verb.ExitUsage},
		"truncated DER":      {arg: file("short.der", truncated), wantCode: "E_CSR_INVALID", wantExit: verb.ExitUsage},
		"empty file":         {arg: file("empty", nil), wantCode: "E_CSR_EMPTY", wantExit: verb.ExitUsage},
		"empty stdin":        {arg: "-", stdin: []byte{}, wantCode: "E_CSR_EMPTY", wantExit: verb.ExitUsage},
		"white space only":   {arg: file("blank", []byte(" \n\n")), wantCode: "E_CSR_EMPTY", wantExit: verb.ExitUsage},
		"a certificate, PEM": {arg: file("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), wantCode: "E_CSR_INVALID", wantExit: verb.ExitUsage},
		"missing file":       {arg: filepath.Join(dir, "nope"), wantExit: verb.ExitUsage},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			app := &ucli.App{Reader: bytes.NewReader(tc.stdin)}
			got, _, err := readCSR(ucli.NewContext(app, nil, nil), tc.arg)
			if tc.wantExit == 0 {
				if err != nil {
					t.Fatalf("readCSR: %v", err)
				}
				if !bytes.Equal(got, pemCSR) {
					t.Fatalf("readCSR gave\n%s\nwant the PEM\n%s", got, pemCSR)
				}
				return
			}
			if err == nil {
				t.Fatalf("readCSR accepted it: %q", got)
			}
			if code := verb.ExitCode(err); code != tc.wantExit || !strings.Contains(err.Error(), tc.wantCode) {
				t.Fatalf("readCSR: exit %d, %v; want exit %d with %q", code, err, tc.wantExit, tc.wantCode)
			}
		})
	}
}
