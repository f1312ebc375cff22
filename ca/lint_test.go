package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"

	"github.com/smki/smki/role"
)

// TestLintFamiliesRefuse builds, for each lint family the linter runs
// (zlint's RFC 5280 lints; the SMKI lints, each one; RFC 5480's only
// lint is a notice, reported not refused; RFC 3279's are RSA-only), an
// end-entity certificate that violates one lint of it and checks the
// linter refuses it with that lint named, on the path issuance takes
// (tbsCertificate). The unchanged certificate passes, so each refusal is
// the mutation's.
func TestLintFamiliesRefuse(t *testing.T) {
	e := newEnv(t)
	l, iss := e.ca.lint, e.ca.Issuing()
	_, csr := newCSR(t, nil)
	subject, err := endEntitySubject("", specs[XMLSigning].ou(role.SoLRContingency).OU(), userSC)
	if err != nil {
		t.Fatal(err)
	}
	binding, err := role.Extension(role.SoLRContingency)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := newSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	skid, err := KeyID(csr.RawSubjectPublicKeyInfo)
	if err != nil {
		t.Fatal(err)
	}
	nb, na, err := window(testStart, 0, DefaultEndEntityYears, iss.NotAfter)
	if err != nil {
		t.Fatal(err)
	}
	good := func() *x509.Certificate {
		c, err := renderEndEntity(csr, endEntityShape{keyUsage: specs[XMLSigning].keyUsage, policy: OIDOrganisationCertificatePolicy,
			roleBinding: string(binding.Value)}, endEntity{serial: serial, rawSubject: subject, notBefore: nb, notAfter: na, subjectKeyID: skid})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name   string
		mutate func(c *x509.Certificate) any // returns the public key to certify (nil: the CSR's)
		want   string                        // the failing lint; "" passes
	}{
		{"good", func(*x509.Certificate) any { return nil }, ""},
		{"RFC 5280: explicitText over 200 characters", func(c *x509.Certificate) any {
			setPolicy(c, OIDOrganisationCertificatePolicy, strings.Repeat("x", 201))
			return nil
		}, "e_ext_cert_policy_explicit_text_too_long"},
		{"SMKI: P-384 key", func(c *x509.Certificate) any {
			id, _ := publicKeyID(&p384.PublicKey)
			c.SubjectKeyId = id
			return &p384.PublicKey
		}, "e_smki_key_p256_sha256"},
		{"SMKI: 8-octet serial", func(c *x509.Certificate) any { c.SerialNumber = big.NewInt(0x7fffffffffffffff); return nil }, "e_smki_serial_16_octets"},
		{"SMKI: SKID not method 2", func(c *x509.Certificate) any { c.SubjectKeyId = []byte{1, 2, 3, 4, 5, 6, 7, 8}; return nil }, "e_smki_skid_method2"},
		{"SMKI: notAfter not 23:59:59", func(c *x509.Certificate) any { c.NotAfter = c.NotAfter.Add(-3600e9); return nil }, "e_smki_not_after_end_of_day"},
		{"SMKI: subject", func(c *x509.Certificate) any {
			c.RawSubject = nil
			c.Subject = pkix.Name{CommonName: "x", Organization: []string{"o"}}
			return nil
		}, "e_smki_ee_subject"},
		{"SMKI: keyUsage", func(c *x509.Certificate) any { c.KeyUsage |= x509.KeyUsageKeyAgreement; return nil }, "e_smki_ee_key_usage"},
		{"SMKI: policy", func(c *x509.Certificate) any { setPolicy(c, "1.2.3", ""); return nil }, "e_smki_ee_certificate_policy"},
		{"SMKI: extra extension", func(c *x509.Certificate) any {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			return nil
		}, "e_smki_ee_extensions"},
		{"SMKI: no role binding", func(c *x509.Certificate) any {
			var kept []pkix.Extension
			for _, x := range c.ExtraExtensions {
				if !x.Id.Equal(oidExtSubjectDirAttribs) {
					kept = append(kept, x)
				}
			}
			c.ExtraExtensions = kept
			return nil
		}, "e_smki_ee_role_binding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			pub := tt.mutate(c)
			if pub == nil {
				pub = csr.PublicKey
			}
			der, err := l.createCertificate(c, pub, iss)
			if err != nil {
				t.Fatal(err)
			}
			tbs, _, err := splitSigned(der)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = l.tbsCertificate(tbs)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (!errors.Is(err, ErrLint) || !strings.Contains(err.Error(), tt.want+": ")):
				t.Fatalf("got %v, want %v naming %s", err, ErrLint, tt.want)
			}
		})
	}
}

// TestLintPanicIsFatal: a lint that panics refuses the certificate, as
// zlint's own Execute makes it a Fatal result.
func TestLintPanicIsFatal(t *testing.T) {
	l, err := newLinter(nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := l.rfcLints[0]
	if cl.shared == nil {
		t.Fatalf("%s has no shared instance: every RFC lint is stateless", cl.Name)
	}
	cl.shared = panicLint{}
	if res := cl.run(nil, l.rfc.GetConfiguration()); res == nil || res.Status.String() != "fatal" {
		t.Fatalf("panicking lint: %+v, want fatal", res)
	}
}

type panicLint struct{}

func (panicLint) CheckApplies(*zx509.Certificate) bool        { panic("boom") }
func (panicLint) Execute(*zx509.Certificate) *lint.LintResult { return nil }

// setPolicy replaces c's certificatePolicies extension (critical, as
// the template writes it) with one naming oid, with a user notice of
// explicitText if not empty.
func setPolicy(c *x509.Certificate, oid, explicitText string) {
	type userNotice struct {
		ExplicitText string `asn1:"utf8"`
	}
	type qualifier struct {
		ID     asn1.ObjectIdentifier
		Notice userNotice
	}
	type info struct {
		Policy     asn1.ObjectIdentifier
		Qualifiers []qualifier `asn1:"optional,omitempty"`
	}
	var id asn1.ObjectIdentifier
	for _, f := range strings.Split(oid, ".") {
		n := 0
		for _, d := range f {
			n = n*10 + int(d-'0')
		}
		id = append(id, n)
	}
	in := info{Policy: id}
	if explicitText != "" {
		in.Qualifiers = []qualifier{{ID: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 2}, Notice: userNotice{explicitText}}}
	}
	v, err := asn1.Marshal([]info{in})
	if err != nil {
		panic(err)
	}
	c.PolicyIdentifiers, c.Policies = nil, nil
	exts := append([]pkix.Extension(nil), c.ExtraExtensions...) // the cached render's slice is shared
	for i, x := range exts {
		if x.Id.Equal(oidExtCertPolicies) {
			exts[i].Value = v
			c.ExtraExtensions = exts
			return
		}
	}
	c.ExtraExtensions = append(exts, pkix.Extension{Id: oidExtCertPolicies, Critical: true, Value: v})
}
