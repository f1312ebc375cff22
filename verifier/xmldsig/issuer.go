package xmldsig

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
)

// IssuerName returns the certificate's issuer DN in the RFC 2253 string
// form that DCC's signing tool writes into X509IssuerName: the RDNs of the
// DER issuer in reverse order, joined with "," and no spaces, short names
// for the usual attribute types, e.g. "CN=Z1,OU=07" for DCC's test issuing
// CA (whose DER order is OU, CN). It is derived from cert.RawIssuer, not
// from the parsed pkix.Name, so attribute order and multi-valued RDNs are
// kept exactly.
//
// Writers differ in spacing ("CN=U1, OU=07" in the DUIS templates) and
// order, so a name read from KeyInfo is compared by a normalised key, never
// as text: the verifier's dnKey (verifier/names.go) is that key's one owner.
func IssuerName(cert *x509.Certificate) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawIssuer, &rdn); err != nil || len(rest) != 0 {
		return cert.Issuer.String()
	}
	return rdn.String()
}
