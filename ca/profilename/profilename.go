// Package profilename owns the names of the Organisation Certificate
// profiles as values (xml-signing, ...): a contract shared by the CA (which
// renders them, package ca re-exports these names), the RA's eligibility
// matrix, the wire (ra/raapi) and the CLI. It holds names only, no profile
// rule, and imports nothing of smki.
package profilename

// Profile names an Organisation Certificate profile (docs/profiles.md).
// The names are a contract shared with the RA's eligibility matrix and the CLI.
type Profile string

// The user certificate profiles.
const (
	XMLSigning     Profile = "xml-signing"
	DigitalSigning Profile = "digital-signing"
	KeyAgreement   Profile = "key-agreement"
)

// DSPXMLSigning is the system profile of the RA/DCC's own signing key (OU=89
// dSPXmlSign). It is issued only by IssueSystem and is deliberately not
// returned by Profiles or ParseProfile, so user enrolment can never reach it.
const DSPXMLSigning Profile = "dsp-xml-signing"
