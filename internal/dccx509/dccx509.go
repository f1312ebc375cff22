// Package dccx509 parses SMKI certificates with Go's crypto/x509.
//
// DCC's Organisation Certificates (and smki's, which copy them) carry
// x500UniqueIdentifier (2.5.4.45) in the subject as a BIT STRING. Go's
// crypto/x509 accepts only string types in a Name and refuses such a
// certificate ("unsupported string type: 3"). ParseCertificate works around
// that without re-encoding anything: it parses a copy in which each BIT
// STRING attribute's tag byte is read as T61String (same length, so every
// offset is unchanged), then writes the original bytes back into that copy,
// so Raw, RawTBSCertificate, RawSubject and RawIssuer are the exact signed
// bytes and signature checks (CheckSignatureFrom, Verify) work on them.
//
// What callers must know: in Subject.Names (and Issuer.Names) the
// x500UniqueIdentifier value is a meaningless Latin-1 string; read the
// identifier from RawSubject. The package owns nothing else.
package dccx509

import (
	"crypto/x509"
	"encoding/pem"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ParseCertificate is x509.ParseCertificate for certificates whose subject or
// issuer Name holds BIT STRING attributes. der is not modified or retained.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	buf := append([]byte(nil), der...)
	if !patchNames(buf) {
		return x509.ParseCertificate(buf)
	}
	c, err := x509.ParseCertificate(buf)
	if err != nil {
		return nil, err
	}
	copy(buf, der) // every Raw* slice of c aliases buf
	return c, nil
}

// RawIssuer returns the issuer Name of the certificate der, as its DER
// element (what ParseCertificate's RawIssuer holds), without parsing the
// rest: a caller that only needs the issuer of many certificates (every
// revoked certificate in a bundle) reads it at the cost of a few length
// fields. ok is false if der is not a certificate's structure up to its
// issuer; nothing after the issuer is checked. The result aliases der.
func RawIssuer(der []byte) (issuer []byte, ok bool) {
	in := cryptobyte.String(der)
	var cert, tbs, name cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, false
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipASN1(cbasn1.INTEGER) || !tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&name, cbasn1.SEQUENCE) {
		return nil, false
	}
	return name, true
}

// patchNames rewrites, in place, the tag of every BIT STRING attribute value
// in the issuer and subject of the certificate in buf to T61String. It
// reports whether it changed anything; on any structural surprise it
// changes nothing more and lets x509 report the error.
func patchNames(buf []byte) bool {
	in := cryptobyte.String(buf)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return false
	}
	tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) // version
	if !tbs.SkipASN1(cbasn1.INTEGER) || !tbs.SkipASN1(cbasn1.SEQUENCE) {
		return false
	}
	changed := false
	var issuer, subject cryptobyte.String
	if !tbs.ReadASN1(&issuer, cbasn1.SEQUENCE) {
		return false
	}
	changed = patchName(issuer) || changed
	if !tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.ReadASN1(&subject, cbasn1.SEQUENCE) {
		return changed
	}
	return patchName(subject) || changed
}

func patchName(name cryptobyte.String) bool {
	changed := false
	for !name.Empty() {
		var set cryptobyte.String
		if !name.ReadASN1(&set, cbasn1.SET) {
			return changed
		}
		for !set.Empty() {
			var atv cryptobyte.String
			var elem cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
				!atv.ReadAnyASN1Element(&elem, &tag) {
				return changed
			}
			if tag == cbasn1.BIT_STRING {
				elem[0] = byte(cbasn1.T61String) // elem aliases buf
				changed = true
			}
		}
	}
	return changed
}

// ErrNoCertificate is returned by ParsePEM for input with no CERTIFICATE block.
var ErrNoCertificate = errors.New("no PEM certificate")

// ParsePEM parses every CERTIFICATE block of a PEM bundle with
// ParseCertificate, skipping blocks of other types. It fails if a
// certificate does not parse or there is none.
func ParsePEM(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNoCertificate
	}
	return out, nil
}
