package ca

import (
	"encoding/asn1"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
)

// Attribute types of the SMKI subject. Go's pkix.Name cannot choose
// UTF8String for every value nor encode x500UniqueIdentifier as a BIT STRING,
// so the subject DER is built here and set as RawSubject.
var (
	oidCommonName          = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOrganizationalUnit  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidX500UniqueIdentifer = asn1.ObjectIdentifier{2, 5, 4, 45}
)

// maxCommonName is ub-common-name (RFC 5280 appendix A.1).
const maxCommonName = 64

// subjectAttr is one single-valued RDN of the SMKI subject.
type subjectAttr struct {
	oid asn1.ObjectIdentifier
	tag cbasn1.Tag
	val []byte
}

func utf8Attr(oid asn1.ObjectIdentifier, s string) subjectAttr {
	return subjectAttr{oid: oid, tag: cbasn1.UTF8String, val: []byte(s)}
}

// uidAttr is x500UniqueIdentifier as a BIT STRING of the 64-bit EUI-64 (no
// unused bits), exactly as DCC's certificates carry it.
func uidAttr(id eui64.ID) subjectAttr {
	return subjectAttr{oid: oidX500UniqueIdentifer, tag: cbasn1.BIT_STRING, val: append([]byte{0}, id[:]...)}
}

// encodeName returns the DER of an RDNSequence with one attribute per RDN,
// in the order given.
func encodeName(attrs []subjectAttr) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(a.oid)
					b.AddASN1(a.tag, func(b *cryptobyte.Builder) { b.AddBytes(a.val) })
				})
			})
		}
	})
	return b.Bytes()
}

// endEntitySubject is the DER subject of an Organisation Certificate:
// optional CN, OU (two hex digits), x500UniqueIdentifier; the order of DCC's
// Z1-supplier-ds certificate.
func endEntitySubject(cn, ou string, id eui64.ID) ([]byte, error) {
	var attrs []subjectAttr
	if cn != "" {
		if err := checkCommonName(cn); err != nil {
			return nil, err
		}
		attrs = append(attrs, utf8Attr(oidCommonName, cn))
	}
	attrs = append(attrs, utf8Attr(oidOrganizationalUnit, ou), uidAttr(id))
	return encodeName(attrs)
}

// caSubject is the DER subject of a CA certificate: OU then CN, as DCC's
// issuing CA "OU=07, CN=Z1".
func caSubject(ou, cn string) ([]byte, error) {
	if err := checkCommonName(cn); err != nil {
		return nil, err
	}
	return encodeName([]subjectAttr{utf8Attr(oidOrganizationalUnit, ou), utf8Attr(oidCommonName, cn)})
}

// checkCommonName accepts 1..64 characters of printable UTF-8.
func checkCommonName(cn string) error {
	if !utf8.ValidString(cn) || cn == "" || utf8.RuneCountInString(cn) > maxCommonName {
		return fmt.Errorf("%w: common name must be 1..%d characters of UTF-8", ErrSubjectField, maxCommonName)
	}
	for _, r := range cn {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: common name holds non-printable character %U", ErrSubjectField, r)
		}
	}
	return nil
}

// nameAttr is one attribute read back from a DER Name.
type nameAttr struct {
	oid asn1.ObjectIdentifier
	tag cbasn1.Tag
	val []byte
}

// parseName reads every attribute of a DER Name (RDNSequence), in order,
// flattening multi-valued RDNs. It fails on trailing bytes or bad structure.
func parseName(der []byte) ([]nameAttr, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: subject is not a DER Name", ErrBadCSR)
	}
	var out []nameAttr
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || set.Empty() {
			return nil, fmt.Errorf("%w: subject RDN is not a non-empty SET", ErrBadCSR)
		}
		for !set.Empty() {
			var atv cryptobyte.String
			var a nameAttr
			var val cryptobyte.String
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&a.oid) ||
				!atv.ReadAnyASN1(&val, &a.tag) || !atv.Empty() {
				return nil, fmt.Errorf("%w: malformed subject attribute", ErrBadCSR)
			}
			a.val = val
			out = append(out, a)
		}
	}
	return out, nil
}
