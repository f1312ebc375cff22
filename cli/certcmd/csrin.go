package certcmd

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/ra/raapi"
)

// errCSREmpty: --csr named an empty file or stdin gave nothing.
var errCSREmpty = errors.New("E_CSR_EMPTY")

// readCSR reads a PKCS#10 request from the file name, or from stdin for
// "-", PEM or DER as the content says (never by the file's name), and
// checks it locally (ca.ParseCSR) so that a wrong file is a usage error
// before anything is sent. It returns the request as PEM, the form the
// wire carries (raapi.CSRField), and parsed.
func readCSR(c *ucli.Context, name string) ([]byte, *x509.CertificateRequest, error) {
	var r io.Reader
	what := name
	if name == "-" {
		r, what = c.App.Reader, "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, verb.UsageErr("--csr: cannot open %s: %v", name, errors.Unwrap(err))
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, ca.MaxCSRSize+1))
	if err != nil {
		return nil, nil, verb.UsageErr("--csr: reading %s failed; check the file and try again", what)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, verb.UsageErr("%v: --csr %s is empty: give a PKCS#10 request, PEM or DER (smki csr, or openssl req)", errCSREmpty, what)
	}
	if !raapi.IsPEM(data) && data[0] != 0x30 {
		// Neither a PEM block nor a DER SEQUENCE: no parser need see it.
		return nil, nil, verb.UsageErr("%v: --csr %s is neither PEM nor DER: give a PKCS#10 request (smki csr, or openssl req)", ca.ErrBadCSR, what)
	}
	csr, err := ca.ParseCSR(data)
	if err != nil {
		return nil, nil, verb.UsageErr("--csr %s: %v; make the request again with smki csr or openssl req", what, err)
	}
	return []byte(raapi.CSRField(data)), csr, nil
}
