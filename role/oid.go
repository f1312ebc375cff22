package role

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrBadBinding is returned (wrapped) when a certificate's role binding is
// missing, malformed, duplicated or names an unknown role.
var ErrBadBinding = errors.New("E_ROLE_BINDING")

// ArcText is the project-defined arc A, a UUID OID (2.25.<uuid>) that needs
// no registration.
const ArcText = "2.25.186941371982697710861883202717565963979"

// AttributeOIDText is the OID A.2.1 that names the smkiUserRole attribute.
const AttributeOIDText = ArcText + ".2.1"

// OIDSubjectDirectoryAttributes is the RFC 5280 extension (2.5.29.9) that
// carries the smkiUserRole attribute.
//
// Why not an extension with OID A.2.1 directly, as the original design said: the
// arc's UUID component does not fit in an int, and Go's crypto/x509 (like any
// parser built on encoding/asn1 or cryptobyte) refuses to parse a certificate
// whose extension OID has such a component. Carrying A.2.1 as an attribute
// type inside subjectDirectoryAttributes keeps the same OIDs and the same
// value while every X.509 parser can still read the certificate. See
// docs/profiles.md.
var OIDSubjectDirectoryAttributes = asn1.ObjectIdentifier{2, 5, 29, 9}

var (
	attributeDER []byte                  // body of OID A.2.1
	roleDER      = map[UserRole][]byte{} // body of OID A.1.n per role
)

func init() {
	attributeDER = mustOIDBody(AttributeOIDText)
	for i, r := range all {
		roleDER[r] = mustOIDBody(fmt.Sprintf("%s.1.%d", ArcText, i+1))
	}
}

func mustOIDBody(s string) []byte {
	o, err := x509.ParseOID(s)
	if err != nil {
		panic(err)
	}
	b, err := o.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

// OID returns the role's OID, A.1.n.
func (r UserRole) OID() (x509.OID, error) {
	b, ok := roleDER[r]
	if !ok {
		return x509.OID{}, fmt.Errorf("%w: %q", ErrUnknownRole, r)
	}
	var o x509.OID
	err := o.UnmarshalBinary(b)
	return o, err
}

// FromOID returns the role whose OID is o.
func FromOID(o x509.OID) (UserRole, error) {
	b, err := o.MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnknownRole, err)
	}
	for r, d := range roleDER {
		if bytes.Equal(d, b) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: OID %s", ErrUnknownRole, o)
}

// Extension returns the non-critical subjectDirectoryAttributes extension
// carrying exactly one smkiUserRole attribute whose values are the OIDs of
// roles:
//
//	SubjectDirectoryAttributes ::= SEQUENCE SIZE (1..MAX) OF Attribute
//	Attribute ::= SEQUENCE { type OBJECT IDENTIFIER (A.2.1),
//	                         values SET SIZE (1..MAX) OF OBJECT IDENTIFIER (A.1.n) }
func Extension(roles ...UserRole) (pkix.Extension, error) {
	if len(roles) == 0 {
		return pkix.Extension{}, fmt.Errorf("%w: no role", ErrBadBinding)
	}
	var vals [][]byte
	for _, r := range roles {
		d, ok := roleDER[r]
		if !ok {
			return pkix.Extension{}, fmt.Errorf("%w: %q", ErrUnknownRole, r)
		}
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(d) })
		enc := b.BytesOrPanic()
		if slices.ContainsFunc(vals, func(v []byte) bool { return bytes.Equal(v, enc) }) {
			return pkix.Extension{}, fmt.Errorf("%w: role %s twice", ErrBadBinding, r)
		}
		vals = append(vals, enc)
	}
	// DER orders SET OF by encoding.
	slices.SortFunc(vals, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(attributeDER) })
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, v := range vals {
					b.AddBytes(v)
				}
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: OIDSubjectDirectoryAttributes, Value: der}, nil
}

// FromCertificate returns the User Roles a certificate is bound to. It fails
// closed: no binding, a critical or repeated extension, a repeated
// attribute, trailing bytes or an unknown role OID are all ErrBadBinding or
// ErrUnknownRole.
func FromCertificate(c *x509.Certificate) ([]UserRole, error) {
	var found *pkix.Extension
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(OIDSubjectDirectoryAttributes) {
			if found != nil {
				return nil, fmt.Errorf("%w: subjectDirectoryAttributes twice", ErrBadBinding)
			}
			found = &c.Extensions[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: certificate has no smkiUserRole", ErrBadBinding)
	}
	if found.Critical {
		return nil, fmt.Errorf("%w: subjectDirectoryAttributes is critical", ErrBadBinding)
	}
	return ParseExtensionValue(found.Value)
}

// ParseExtensionValue parses a subjectDirectoryAttributes value and returns
// the roles of its single smkiUserRole attribute. Other attributes are
// ignored, as RFC 5280 lets relying parties do.
func ParseExtensionValue(der []byte) ([]UserRole, error) {
	in := cryptobyte.String(der)
	var attrs cryptobyte.String
	if !in.ReadASN1(&attrs, cbasn1.SEQUENCE) || !in.Empty() || attrs.Empty() {
		return nil, fmt.Errorf("%w: malformed subjectDirectoryAttributes", ErrBadBinding)
	}
	var roles []UserRole
	seen := false
	for !attrs.Empty() {
		var attr, typ, set cryptobyte.String
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) ||
			!attr.ReadASN1(&typ, cbasn1.OBJECT_IDENTIFIER) ||
			!attr.ReadASN1(&set, cbasn1.SET) || !attr.Empty() {
			return nil, fmt.Errorf("%w: malformed attribute", ErrBadBinding)
		}
		if !bytes.Equal(typ, attributeDER) {
			continue
		}
		if seen {
			return nil, fmt.Errorf("%w: smkiUserRole twice", ErrBadBinding)
		}
		seen = true
		for !set.Empty() {
			var o cryptobyte.String
			if !set.ReadASN1(&o, cbasn1.OBJECT_IDENTIFIER) {
				return nil, fmt.Errorf("%w: malformed role OID", ErrBadBinding)
			}
			r, err := fromBody(o)
			if err != nil {
				return nil, err
			}
			if slices.Contains(roles, r) {
				return nil, fmt.Errorf("%w: role %s twice", ErrBadBinding, r)
			}
			roles = append(roles, r)
		}
	}
	if !seen || len(roles) == 0 {
		return nil, fmt.Errorf("%w: no smkiUserRole attribute", ErrBadBinding)
	}
	return roles, nil
}

func fromBody(b []byte) (UserRole, error) {
	for r, d := range roleDER {
		if bytes.Equal(d, b) {
			return r, nil
		}
	}
	var o x509.OID
	if err := o.UnmarshalBinary(b); err != nil {
		return "", fmt.Errorf("%w: malformed role OID", ErrBadBinding)
	}
	return "", fmt.Errorf("%w: OID %s", ErrUnknownRole, o)
}
