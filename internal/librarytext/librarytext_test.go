package librarytext

import "testing"

// TestFind keeps the pattern able to fail: it matches the library
// messages it is for, and not smki's own sentences.
func TestFind(t *testing.T) {
	t.Parallel()
	for _, leak := range []string{
		"E_RA_CSR_INVALID: x509: malformed certificate request",
		"E_RA_BAD_REQUEST: JSON body: invalid character 'x' looking for beginning of value",
		`E_RA_BAD_REQUEST: strconv.ParseUint: parsing "x": invalid syntax`,
		"E_RA_INTERNAL: bolt: database not open",
		"E_RA_BAD_REQUEST: reading the body: read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout",
		"E_RA_INTERNAL: asn1: structure error: tags don't match",
		"E_CONFIG: smki.yaml: not YAML: yaml: line 2: mapping values are not allowed in this context",
		"json: cannot unmarshal string into Go value of type int",
		"E_RA_INTERNAL: ERROR: relation does not exist (SQLSTATE 42P01)",
		"SIG: SignatureValue: bad base64: illegal base64 data at input byte 0",
		`CERT: the certificate repository cannot give it: Get "https://ra/repo/certs/1.der": dial tcp 10.0.0.1:443: connect: connection refused`,
	} {
		if Find(leak) == "" {
			t.Errorf("library text not caught: %s", leak)
		}
	}
	for _, own := range []string{
		"E_RA_NOT_FOUND: no certificate 01 among your party's",
		"E_VERIFIER_CONFIG: trust directory /t: manifest.json: names \"../root.pem\", which is not a file of the directory",
		"E_CONFIG: /etc/smki.yaml:2: key \"listen\": a tab in the indentation: indent with spaces",
		"E_RA_BAD_REQUEST: the body did not arrive within the server's read timeout; send the whole body at once",
		"E_STORE_FULL: the RA cannot write to its store because the disk is full; nothing was changed. Try again later",
		"E_RA_INVALID_ID: party ID \"90B3\": want an EUI-64 such as 90-B3-D5-1F-30-00-00-01",
	} {
		if m := Find(own); m != "" {
			t.Errorf("smki's own sentence taken for library text (%q): %s", m, own)
		}
	}
}
