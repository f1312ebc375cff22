package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
)

// The SMKI profile lints. They run through zlint next to its RFC 5280
// lints, on the same throwaway-signed certificate, and check the result of
// the template independently of the template (docs/profiles.md). Each
// returns "" when the certificate passes, or what is wrong.
type smkiCheck struct {
	name, desc string
	endEntity  bool // applies to end-entity certificates; false: to every certificate
	caOnly     bool // applies to CA certificates only
	check      func(c *x509.Certificate) string
}

var (
	oidExtKeyUsage          = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtCertPolicies      = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidExtSKID              = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtAKID              = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtBasicConstraints  = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtSubjectDirAttribs = role.OIDSubjectDirectoryAttributes
)

var smkiChecks = []smkiCheck{
	{name: "e_smki_key_p256_sha256", desc: "key is ECDSA P-256 and the signature ecdsa-with-SHA256",
		check: func(c *x509.Certificate) string {
			if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
				return "public key is not ECDSA P-256"
			}
			if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				return "signature algorithm is not ecdsa-with-SHA256"
			}
			return ""
		}},
	{name: "e_smki_serial_16_octets", desc: "serial is 16 octets and positive",
		check: func(c *x509.Certificate) string {
			if c.SerialNumber.Sign() <= 0 || len(c.SerialNumber.Bytes()) != serialLen || c.SerialNumber.Bytes()[0]&0x80 != 0 {
				return fmt.Sprintf("serial %x is not 16 positive octets", c.SerialNumber)
			}
			return ""
		}},
	{name: "e_smki_skid_method2", desc: "subjectKeyIdentifier is 8 bytes by RFC 5280 4.2.1.2 method 2",
		check: func(c *x509.Certificate) string {
			want, err := KeyID(c.RawSubjectPublicKeyInfo)
			if err != nil || !bytes.Equal(c.SubjectKeyId, want) {
				return fmt.Sprintf("SKID %x, want %x", c.SubjectKeyId, want)
			}
			return ""
		}},
	{name: "e_smki_akid_key_id", desc: "authorityKeyIdentifier keyIdentifier is present (8 bytes)",
		check: func(c *x509.Certificate) string {
			if len(c.AuthorityKeyId) != 8 {
				return fmt.Sprintf("AKID %x is not 8 bytes", c.AuthorityKeyId)
			}
			return ""
		}},
	{name: "e_smki_not_after_end_of_day", desc: "notAfter is 23:59:59 UTC",
		check: func(c *x509.Certificate) string {
			if h, m, s := c.NotAfter.UTC().Clock(); h != 23 || m != 59 || s != 59 {
				return "notAfter " + c.NotAfter.UTC().Format(time.RFC3339) + " does not end at 23:59:59"
			}
			return ""
		}},
	{name: "e_smki_ee_subject", desc: "subject is [CN UTF8String], OU UTF8String two upper-case hex digits, x500UniqueIdentifier 64-bit BIT STRING", endEntity: true,
		check: func(c *x509.Certificate) string {
			attrs, err := parseName(c.RawSubject)
			if err != nil {
				return err.Error()
			}
			if len(attrs) > 0 && attrs[0].oid.Equal(oidCommonName) {
				if attrs[0].tag != cbasn1.UTF8String {
					return "CN is not a UTF8String"
				}
				if err := checkCommonName(string(attrs[0].val)); err != nil {
					return err.Error()
				}
				attrs = attrs[1:]
			}
			if len(attrs) != 2 || !attrs[0].oid.Equal(oidOrganizationalUnit) || !attrs[1].oid.Equal(oidX500UniqueIdentifer) {
				return "subject is not [CN,] OU, x500UniqueIdentifier"
			}
			ou := string(attrs[0].val)
			if p, err := role.ParseRemotePartyRole(ou); attrs[0].tag != cbasn1.UTF8String || err != nil || p.OU() != ou {
				return fmt.Sprintf("OU %q is not two upper-case hex digits in a UTF8String", ou)
			}
			if u := attrs[1]; u.tag != cbasn1.BIT_STRING || len(u.val) != 9 || u.val[0] != 0 {
				return "x500UniqueIdentifier is not a 64-bit BIT STRING"
			}
			return ""
		}},
	{name: "e_smki_ee_key_usage", desc: "keyUsage is critical and exactly digitalSignature or keyAgreement", endEntity: true,
		check: func(c *x509.Certificate) string {
			if e := findExt(c, oidExtKeyUsage); e == nil || !e.Critical {
				return "keyUsage missing or not critical"
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature && c.KeyUsage != x509.KeyUsageKeyAgreement {
				return fmt.Sprintf("keyUsage %b is not exactly digitalSignature or keyAgreement", c.KeyUsage)
			}
			return ""
		}},
	{name: "e_smki_ee_certificate_policy", desc: "certificatePolicies is critical and exactly the Organisation Certificate Policy", endEntity: true,
		check: func(c *x509.Certificate) string {
			e := findExt(c, oidExtCertPolicies)
			if e == nil || !e.Critical {
				return "certificatePolicies missing or not critical"
			}
			if len(c.Policies) != 1 || c.Policies[0].String() != OIDOrganisationCertificatePolicy {
				return fmt.Sprintf("policies %v, want exactly %s", c.Policies, OIDOrganisationCertificatePolicy)
			}
			return ""
		}},
	{name: "e_smki_ee_extensions", desc: "end-entity carries only keyUsage, certificatePolicies, SKID, AKID and the role binding", endEntity: true,
		check: func(c *x509.Certificate) string {
			for _, e := range c.Extensions {
				switch {
				case e.Id.Equal(oidExtKeyUsage), e.Id.Equal(oidExtCertPolicies), e.Id.Equal(oidExtSKID),
					e.Id.Equal(oidExtAKID), e.Id.Equal(oidExtSubjectDirAttribs) && !e.Critical:
				default:
					return fmt.Sprintf("extension %s (critical %v) is not in the profile", e.Id, e.Critical)
				}
			}
			return ""
		}},
	{name: "e_smki_ee_role_binding", desc: "smkiUserRole binds exactly one User Role; the OU=89 system profile carries none", endEntity: true,
		check: func(c *x509.Certificate) string {
			ou := ""
			if len(c.Subject.OrganizationalUnit) == 1 {
				ou = c.Subject.OrganizationalUnit[0]
			}
			if ou == role.RPDSPXMLSign.OU() {
				if findExt(c, oidExtSubjectDirAttribs) != nil {
					return "OU=89 certificate carries a User Role binding"
				}
				return ""
			}
			roles, err := role.FromCertificate(c)
			if err != nil || len(roles) != 1 {
				return fmt.Sprintf("role binding %v: %v", roles, err)
			}
			return ""
		}},
	{name: "e_smki_ca_profile", desc: "CA: basicConstraints critical cA, keyUsage critical exactly keyCertSign|cRLSign", caOnly: true,
		check: func(c *x509.Certificate) string {
			if e := findExt(c, oidExtBasicConstraints); e == nil || !e.Critical {
				return "basicConstraints missing or not critical"
			}
			if e := findExt(c, oidExtKeyUsage); e == nil || !e.Critical || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				return "keyUsage is not critical keyCertSign|cRLSign"
			}
			return ""
		}},
}

// findExt returns the extension with that OID, or nil.
func findExt(c *x509.Certificate, oid asn1.ObjectIdentifier) *pkix.Extension {
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(oid) {
			return &c.Extensions[i]
		}
	}
	return nil
}

// applies reports whether the check applies to a certificate that is a
// CA (basicConstraints cA) or not, and is self-issued (issuer equals
// subject) or not.
func (chk smkiCheck) applies(isCA, selfIssued bool) bool {
	switch {
	case chk.endEntity:
		return !isCA
	case chk.caOnly:
		return isCA
	case chk.name == "e_smki_akid_key_id":
		return !selfIssued // optional on self-signed roots
	}
	return true
}

// runSMKILints runs every SMKI lint that applies to c (crypto/x509's
// parse of a lint certificate) and puts each failure in rs as an Error
// result, as zlint would report it.
func runSMKILints(rs *zlint.ResultSet, c *x509.Certificate) {
	isCA, selfIssued := c.BasicConstraintsValid && c.IsCA, bytes.Equal(c.RawIssuer, c.RawSubject)
	for _, chk := range smkiChecks {
		if !chk.applies(isCA, selfIssued) {
			continue
		}
		if d := chk.check(c); d != "" {
			addResult(rs, chk.name, &lint.LintResult{Status: lint.Error, Details: d})
		}
	}
}

// zlintAdapter runs one smkiCheck as a zlint CertificateLint, for zlint's
// own runs over its registry (the CA's linter calls runSMKILints).
type zlintAdapter struct{ smkiCheck }

func (a zlintAdapter) CheckApplies(c *zx509.Certificate) bool {
	return a.applies(c.BasicConstraintsValid && c.IsCA, bytes.Equal(c.RawIssuer, c.RawSubject))
}

func (a zlintAdapter) Execute(zc *zx509.Certificate) *lint.LintResult {
	c, err := dccx509.ParseCertificate(zc.Raw)
	if err != nil {
		return &lint.LintResult{Status: lint.Fatal, Details: err.Error()}
	}
	if d := a.check(c); d != "" {
		return &lint.LintResult{Status: lint.Error, Details: d}
	}
	return &lint.LintResult{Status: lint.Pass}
}

// init registers the SMKI lints in zlint's registry: that is zlint's only
// extension point (lints register themselves at init). The names are
// prefixed e_smki_ so no other lint can clash.
func init() {
	for _, chk := range smkiChecks {
		a := zlintAdapter{chk}
		lint.RegisterCertificateLint(&lint.CertificateLint{
			LintMetadata: lint.LintMetadata{
				Name: chk.name, Description: chk.desc, Citation: "smki docs/profiles.md",
				Source: lint.Community, OverrideFrameworkFilter: true,
			},
			Lint: func() lint.CertificateLintInterface { return a },
		})
	}
}
