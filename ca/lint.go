package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"reflect"
	"sort"
	"strings"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/smki/smki/internal/dccx509"
)

// disabledLints are zlint lints that contradict the SMKI profile, which DCC
// fixed before smki existed. Each is explained in docs/profiles.md.
var disabledLints = []string{
	// Reads every subject attribute value as UTF-8 text, so the binary
	// BIT STRING x500UniqueIdentifier that every SMKI subject carries
	// "contains control characters". e_smki_ee_subject checks the text
	// attributes (CN, OU) instead.
	"e_subject_dn_not_printable_characters",
}

// linter signs to-be-signed certificates and CRLs with a throwaway key under
// a stand-in issuer that has the real issuer's name and key identifier, and
// lints the result. What it lints is byte-for-byte the TBS the real key then
// signs (Issue checks that), without the real key ever signing something
// that failed.
type linter struct {
	key *ecdsa.PrivateKey
	rfc lint.Registry // RFC 5280/5480/3279 lints, minus disabledLints
	// rfcLints are rfc's certificate lints, listed and instantiated once.
	rfcLints []certLint
	warnings func(kind, name, details string)
	// placeholderSig is one ecdsa-with-SHA256 signature by key, made
	// once: the signature value of every end-entity lint certificate
	// (tbsCertificate). No lint run here reads a certificate's signature
	// value (zlint's RFC 5280/5480/3279 lints and the SMKI lints check
	// the signature algorithm, never the value, and nothing verifies a
	// lint certificate), so signing each lint TBS anew would cost one
	// ECDSA signature per issuance for bytes nobody checks.
	placeholderSig []byte
}

func newLinter(warn func(kind, name, details string)) (*linter, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: lint key: %v", ErrSigning, err)
	}
	rfc, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		IncludeSources: lint.SourceList{lint.RFC5280, lint.RFC5480, lint.RFC3279},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: zlint registry: %v", ErrLint, err)
	}
	if len(disabledLints) > 0 {
		if rfc, err = rfc.Filter(lint.FilterOptions{ExcludeNames: disabledLints}); err != nil {
			return nil, fmt.Errorf("%w: zlint registry: %v", ErrLint, err)
		}
	}
	lints, err := certLints(rfc)
	if err != nil {
		return nil, err
	}
	if warn == nil {
		warn = func(string, string, string) {}
	}
	digest := sha256.Sum256([]byte("smki lint certificate placeholder signature"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("%w: lint key: %v", ErrSigning, err)
	}
	return &linter{key: key, rfc: rfc, rfcLints: lints, warnings: warn, placeholderSig: sig}, nil
}

// standIn is the lint issuer: the real issuer's name and key identifier
// with the throwaway public key, so x509 copies the same issuer and AKID.
func (l *linter) standIn(issuer *x509.Certificate) *x509.Certificate {
	return &x509.Certificate{
		RawSubject:            issuer.RawSubject,
		SubjectKeyId:          issuer.SubjectKeyId,
		PublicKey:             l.key.Public(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// certificate signs tmpl (for pub) with the throwaway key and lints it. A nil
// issuer means tmpl is self-signed. It returns the lint certificate's DER.
func (l *linter) certificate(tmpl *x509.Certificate, pub any, issuer *x509.Certificate) ([]byte, error) {
	return l.lintCertificate(tmpl, pub, issuer, true)
}

// certificateRFC is certificate with the RFC lints only, for certificates
// that are not Organisation Certificates (a delegated OCSP responder's).
func (l *linter) certificateRFC(tmpl *x509.Certificate, pub any, issuer *x509.Certificate) ([]byte, error) {
	return l.lintCertificate(tmpl, pub, issuer, false)
}

func (l *linter) lintCertificate(tmpl *x509.Certificate, pub any, issuer *x509.Certificate, smki bool) ([]byte, error) {
	der, err := l.createCertificate(tmpl, pub, issuer)
	if err != nil {
		return nil, err
	}
	if _, err := l.lintDER(der, smki); err != nil {
		return nil, err
	}
	return der, nil
}

// createCertificate is x509.CreateCertificate of tmpl (for pub) signed with
// the throwaway key under the stand-in for issuer (nil: self-signed).
func (l *linter) createCertificate(tmpl *x509.Certificate, pub any, issuer *x509.Certificate) ([]byte, error) {
	parent := tmpl
	if issuer != nil {
		parent = l.standIn(issuer)
	} else {
		cp := *tmpl
		cp.PublicKey = l.key.Public()
		parent = &cp
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, l.key)
	if err != nil {
		return nil, fmt.Errorf("%w: building the lint certificate: %v", ErrLint, err)
	}
	return der, nil
}

// tbsCertificate wraps tbs (an Organisation Certificate's TBS assembled
// by endEntityTBS) with the placeholder signature into the lint
// certificate and lints it with the RFC and SMKI lints. It returns the
// lint certificate's DER and crypto/x509's parse of it, the one parse
// issuance makes (withSignature turns it into the signed certificate's).
// The lint certificate's signature is a well-formed ecdsa-with-SHA256
// signature by the throwaway key over other bytes (placeholderSig): what
// is linted, and later signed by the CA key, is the TBS.
func (l *linter) tbsCertificate(tbs []byte) ([]byte, *x509.Certificate, error) {
	der, err := signedDER(tbs, l.placeholderSig)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: building the lint certificate: %v", ErrLint, err)
	}
	c, err := l.lintDER(der, true)
	if err != nil {
		return nil, nil, err
	}
	return der, c, nil
}

// lintDER lints a lint certificate with the RFC lints and, if smki, the
// SMKI lints, and returns crypto/x509's parse of it.
func (l *linter) lintDER(der []byte, smki bool) (*x509.Certificate, error) {
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: zcrypto cannot parse the certificate: %v", ErrLint, err)
	}
	c, err := dccx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: crypto/x509 cannot parse the certificate: %v", ErrLint, err)
	}
	rs := &zlint.ResultSet{}
	runLints(rs, zc, l.rfcLints, l.rfc.GetConfiguration())
	if smki {
		// The SMKI lints read crypto/x509's view of the certificate, the
		// parse just made: they run here on it, not through zlint's
		// registry (where they are registered too, for zlint's own
		// runs), which would hand them zcrypto's parse to parse again.
		runSMKILints(rs, c)
	}
	if err := l.verdict("certificate", rs); err != nil {
		return nil, err
	}
	return c, nil
}

// certLint is one zlint certificate lint as the linter runs it.
type certLint struct {
	*lint.CertificateLint
	// shared is the lint's one instance when its type holds no state
	// (every RFC 5280/5480/3279 lint is an empty struct) and needs no
	// configuration: it is made once and shared by every certificate
	// and goroutine. nil: each run makes its own, as zlint does.
	shared lint.CertificateLintInterface
}

// certLints lists reg's certificate lints once, with the instance each
// may share.
func certLints(reg lint.Registry) ([]certLint, error) {
	var out []certLint
	for _, lt := range reg.CertificateLints().Lints() {
		cl := certLint{CertificateLint: lt}
		impl := lt.Lint()
		_, configurable := impl.(lint.Configurable)
		if t := reflect.TypeOf(impl); !configurable && t.Kind() == reflect.Pointer && t.Elem().Size() == 0 {
			cl.shared = impl
		}
		out = append(out, cl)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: zlint registry has no certificate lints", ErrLint)
	}
	return out, nil
}

// run is zlint's CertificateLint.Execute for zc (a panic is a Fatal
// result; CheckApplies, then CheckEffective, then Execute), returning
// nil for not applicable (NA) and not effective (NE): the result zlint
// would allocate for them is never read. A lint zlint filters by
// source before it runs (the CA/B Forum ones, none of which the linter
// runs) or without a shared instance runs through zlint itself.
func (cl certLint) run(zc *zx509.Certificate, cfg lint.Configuration) (res *lint.LintResult) {
	if cl.shared == nil || !cl.OverrideFrameworkFilter && frameworkFiltered[cl.Source] {
		return cl.Execute(zc, cfg)
	}
	defer func() {
		if err := recover(); err != nil {
			res = &lint.LintResult{Status: lint.Fatal, Details: fmt.Sprintf("'%s' panicked. Error: %v", cl.Name, err)}
		}
	}()
	if !cl.shared.CheckApplies(zc) || !cl.CheckEffective(zc) {
		return nil
	}
	return cl.shared.Execute(zc)
}

// frameworkFiltered are the sources whose lints zlint's Execute skips for
// certificates outside their scope (server, S/MIME, code signing).
var frameworkFiltered = map[lint.LintSource]bool{
	lint.CABFBaselineRequirements: true, lint.CABFSMIMEBaselineRequirements: true, lint.CABFCSBaselineRequirements: true,
}

// runLints runs lints on zc into rs, keeping only the results verdict
// reads (error, fatal, warning, notice): the passes and not-applicables
// of every certificate are not put in a map.
func runLints(rs *zlint.ResultSet, zc *zx509.Certificate, lints []certLint, cfg lint.Configuration) {
	for _, lt := range lints {
		res := lt.run(zc, cfg)
		if res == nil {
			continue
		}
		switch res.Status {
		case lint.Error, lint.Fatal, lint.Warn, lint.Notice:
		default:
			continue
		}
		res.LintMetadata = lt.LintMetadata
		addResult(rs, lt.Name, res)
	}
}

// addResult puts res in rs under name, making rs's map on first use.
func addResult(rs *zlint.ResultSet, name string, res *lint.LintResult) {
	if rs.Results == nil {
		rs.Results = make(map[string]*lint.LintResult)
	}
	rs.Results[name] = res
}

// revocationListTBS signs a TBSCertList with the throwaway key and lints
// the CRL.
func (l *linter) revocationListTBS(tbs []byte) error {
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, l.key, digest[:])
	if err != nil {
		return fmt.Errorf("%w: signing the lint CRL: %v", ErrLint, err)
	}
	der, err := signedDER(tbs, sig)
	if err != nil {
		return fmt.Errorf("%w: building the lint CRL: %v", ErrLint, err)
	}
	zr, err := zx509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("%w: zcrypto cannot parse the CRL: %v", ErrLint, err)
	}
	return l.verdict("crl", zlint.LintRevocationListEx(zr, l.rfc))
}

// verdict fails on any error or fatal result, naming every failing lint;
// warnings and notices are reported, not fatal.
func (l *linter) verdict(kind string, sets ...*zlint.ResultSet) error {
	var failed []string
	for _, rs := range sets {
		for name, r := range rs.Results {
			switch r.Status {
			case lint.Error, lint.Fatal:
				failed = append(failed, name+": "+r.Details)
			case lint.Warn, lint.Notice:
				l.warnings(kind, name, r.Details)
			}
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%w: %s", ErrLint, strings.Join(failed, "; "))
	}
	return nil
}
