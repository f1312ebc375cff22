package raapi

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"github.com/smki/smki/ra/raerr"
)

// The "csr" member of an enrolment body is text: the PEM of a PKCS#10
// request, or the base64 (standard alphabet, padding optional) of its DER.
// Raw DER bytes are never put into a JSON string (they are not UTF-8).

// CSRField is the wire form of a CSR given as PEM or DER: PEM text passes
// unchanged, DER becomes PEM ("CERTIFICATE REQUEST"). Which it is is told
// by content, not by a file name.
func CSRField(csr []byte) string {
	if IsPEM(csr) {
		return string(csr)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
}

// IsPEM reports whether data, less leading white space, starts a PEM block.
func IsPEM(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN"))
}

// ParseCSRField reads the "csr" member: PEM text is returned as is (the
// CA's parser checks it), anything else must be base64 of DER, returned
// decoded. Anything else is E_RA_BAD_REQUEST.
func ParseCSRField(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: csr is empty: give the PEM of the PKCS#10 request, or the base64 of its DER", raerr.ErrBadRequest)
	}
	if IsPEM([]byte(s)) {
		return []byte(s), nil
	}
	compact := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, []byte(s))
	der, err := base64.RawStdEncoding.DecodeString(string(bytes.TrimRight(compact, "=")))
	if err != nil || len(der) == 0 {
		return nil, fmt.Errorf("%w: csr is neither PEM nor base64 of DER: give the PEM of the PKCS#10 request, or the base64 of its DER", raerr.ErrBadRequest)
	}
	return der, nil
}
