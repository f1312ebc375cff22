package xmldsig

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
)

// IssuerName returns the certificate's issuer DN in the RFC 2253 string
// form that DCC's signing tool writes into X509IssuerName: the RDNs of the
// DER issuer in reverse order, joined with "," and no spaces, short names
// for the usual attribute types, e.g. "CN=Z1,OU=07" for DCC's test issuing
// CA (whose DER order is OU, CN). It is derived from cert.RawIssuer, not
// from the parsed pkix.Name, so attribute order and multi-valued RDNs are
// kept exactly.
//
// Writers differ in spacing ("CN=U1, OU=07" in the DUIS templates), so a
// verifier that looks certificates up by issuer name should key on
// NormalizeIssuerName(IssuerName(cert)) and look up
// NormalizeIssuerName(keyInfo.IssuerSerial.IssuerName).
func IssuerName(cert *x509.Certificate) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawIssuer, &rdn); err != nil || len(rest) != 0 {
		return cert.Issuer.String()
	}
	return rdn.String()
}

// NormalizeIssuerName returns a comparison key for an RFC 2253 name:
// whitespace around ",", "+" and "=" removed and attribute types upper
// case. Escaped characters and quoted values are kept as written. Two names
// with equal keys name the same issuer; the converse does not always hold
// (hex-encoded values, alternative type names), which only means a lookup
// miss (CERT), never a wrong match.
func NormalizeIssuerName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var part strings.Builder
	flush := func(sep byte) {
		p := strings.TrimSpace(part.String())
		if eq := strings.IndexByte(p, '='); eq >= 0 {
			p = strings.ToUpper(strings.TrimSpace(p[:eq])) + "=" + strings.TrimSpace(p[eq+1:])
		}
		b.WriteString(p)
		if sep != 0 {
			b.WriteByte(sep)
		}
		part.Reset()
	}
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			part.WriteByte(c)
			part.WriteByte(s[i+1])
			i++
		case c == '"':
			quoted = !quoted
			part.WriteByte(c)
		case !quoted && (c == ',' || c == '+' || c == ';'):
			if c == ';' {
				c = ','
			}
			flush(c)
		default:
			part.WriteByte(c)
		}
	}
	flush(0)
	return b.String()
}
