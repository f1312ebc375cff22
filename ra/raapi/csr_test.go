package raapi

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/smki/smki/ra/raerr"
)

func TestParseCSRField(t *testing.T) {
	t.Parallel()
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x05}
	pemText := CSRField(der)
	for name, tc := range map[string]struct {
		in      string
		want    string
		wantErr error
	}{
		"PEM passes":            {in: pemText, want: pemText},
		"PEM after white space": {in: "\n  " + pemText, want: "\n  " + pemText},
		"base64 DER":            {in: base64.StdEncoding.EncodeToString(der), want: string(der)},
		"base64 unpadded":       {in: base64.RawStdEncoding.EncodeToString(der), want: string(der)},
		"base64 wrapped":        {in: "MAMC\nAQU=\n", want: string(der)},
		"empty":                 {in: "", wantErr: raerr.ErrBadRequest},
		"garbage":               {in: "not a csr!", wantErr: raerr.ErrBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCSRField(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && string(got) != tc.want) {
				t.Fatalf("ParseCSRField(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if CSRField([]byte(pemText)) != pemText {
		t.Fatal("CSRField changed PEM text")
	}
}
