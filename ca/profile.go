package ca

import (
	"fmt"
	"strings"

	"github.com/smki/smki/ca/profilename"
	"github.com/smki/smki/role"
)

// Profile names an Organisation Certificate profile (owned by
// ca/profilename, so that the wire can name one without linking the CA).
type Profile = profilename.Profile

// The user certificate profiles.
const (
	XMLSigning     = profilename.XMLSigning
	DigitalSigning = profilename.DigitalSigning
	KeyAgreement   = profilename.KeyAgreement
)

// DSPXMLSigning is the system profile (see profilename.DSPXMLSigning).
const DSPXMLSigning = profilename.DSPXMLSigning

// Profile names of the CA certificates as recorded in the store.
const (
	profileRootCA    = "root-ca"
	profileIssuingCA = "issuing-ca"
)

// OIDOrganisationCertificatePolicy is the SMKI Organisation Certificate
// Policy every end-entity certificate asserts (critical).
const OIDOrganisationCertificatePolicy = "1.2.826.0.1.8641679.1.2.1.4"

// spec is a profile as data: what the template renders and what the CSR may
// say. Behaviour that depends on the request (OU from the role) is a field,
// not a branch in the issuance code.
type spec struct {
	name        Profile
	keyUsage    string                                   // x509util keyUsage name
	ou          func(role.UserRole) role.RemotePartyRole // Remote Party Role in OU
	roleBinding bool                                     // carries role.Extension
}

var specs = map[Profile]spec{
	XMLSigning: {name: XMLSigning, keyUsage: "digitalSignature", roleBinding: true,
		ou: func(role.UserRole) role.RemotePartyRole { return role.RPXMLSign }},
	DigitalSigning: {name: DigitalSigning, keyUsage: "digitalSignature", roleBinding: true,
		ou: role.UserRole.DigitalSigningRemotePartyRole},
	KeyAgreement: {name: KeyAgreement, keyUsage: "keyAgreement", roleBinding: true,
		ou: role.UserRole.DigitalSigningRemotePartyRole},
	DSPXMLSigning: {name: DSPXMLSigning, keyUsage: "digitalSignature", roleBinding: false,
		ou: func(role.UserRole) role.RemotePartyRole { return role.RPDSPXMLSign }},
}

// Profiles returns the user certificate profiles, in a stable order.
func Profiles() []Profile { return []Profile{XMLSigning, DigitalSigning, KeyAgreement} }

// ParseProfile returns the user profile named s (case-insensitive, trimmed).
// It fails with ErrUnknownProfile for anything else, including the system
// profile dsp-xml-signing.
func ParseProfile(s string) (Profile, error) {
	p := Profile(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Profiles() {
		if k == p {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want one of xml-signing, digital-signing, key-agreement)", ErrUnknownProfile, s)
}

// endEntityTemplate is the x509util template of every end-entity profile.
// Shape is data here; ca/smkilint.go checks the result independently.
//   - rawSubject: built by subjectDER (UTF8String CN/OU, BIT STRING x500UniqueIdentifier)
//   - keyUsage: critical (x509 always marks it so), one bit
//   - certificatePolicies: given as a raw extension so it can be critical
//   - subjectDirectoryAttributes (2.5.29.9) with smkiUserRole, non-critical
//   - no basicConstraints, EKU or SAN
const endEntityTemplate = `{
	"serialNumber": {{ toJson .serial }},
	"rawSubject": {{ toJson .rawSubject }},
	"notBefore": {{ toJson .notBefore }},
	"notAfter": {{ toJson .notAfter }},
	"subjectKeyId": {{ toJson .subjectKeyId }},
	"keyUsage": [{{ toJson .keyUsage }}],
	"signatureAlgorithm": "ECDSA-SHA256",
	"extensions": [
		{"id": "2.5.29.32", "critical": true, "value": {{ asn1Seq (asn1Seq (asn1Enc (print "oid:" .policy))) | toJson }}}
		{{- if .roleBinding }},
		{"id": "2.5.29.9", "critical": false, "value": {{ toJson .roleBinding }}}
		{{- end }}
	]
}`

// caTemplate is the x509util template of the Root and Issuing OCA certificates.
const caTemplate = `{
	"serialNumber": {{ toJson .serial }},
	"rawSubject": {{ toJson .rawSubject }},
	"notBefore": {{ toJson .notBefore }},
	"notAfter": {{ toJson .notAfter }},
	"subjectKeyId": {{ toJson .subjectKeyId }},
	"authorityKeyId": {{ toJson .authorityKeyId }},
	"keyUsage": ["certSign", "crlSign"],
	"basicConstraints": {"isCA": true, "maxPathLen": {{ .maxPathLen }}},
	"signatureAlgorithm": "ECDSA-SHA256"
}`
