package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"runtime"
	"sync"
	"weak"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
)

// MaxCSRSize is the largest CSR, PEM or DER, that ParseCSR reads. A P-256 CSR
// is under 1 KiB; the limit only bounds hostile input.
const MaxCSRSize = 64 << 10

// ParseCSR parses a PKCS#10 request given as PEM ("CERTIFICATE REQUEST" or
// "NEW CERTIFICATE REQUEST") or DER, and checks what does not depend on the
// profile: size (ErrTooLarge), structure (ErrBadCSR, also for trailing data
// or a second PEM block), key ECDSA P-256 (ErrKeyAlgorithm) in canonical DER
// (ErrCSRNotCanonical) and the self-signature (ErrCSRSignature). It does not check the subject; Issue
// does, against the profile and the request.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRSize {
		return nil, fmt.Errorf("%w: CSR is %d bytes, limit %d", ErrTooLarge, len(data), MaxCSRSize)
	}
	der := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		block, rest := pem.Decode(t)
		if block == nil {
			return nil, fmt.Errorf("%w: PEM does not decode (truncated?)", ErrBadCSR)
		}
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: PEM type %q is not a certificate request", ErrBadCSR, block.Type)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%w: data after the PEM block", ErrBadCSR)
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		// crypto/x509's and encoding/asn1's text ("asn1: structure
		// error: tags don't match (16 vs {class:1 ...})") says nothing
		// an enrolling user can act on (issue 14).
		return nil, fmt.Errorf("%w: it does not parse as a PKCS#10 certificate request (DER, or PEM \"CERTIFICATE REQUEST\"); make it again with smki csr (an officer's: smki officer keygen) or openssl req -new", ErrBadCSR)
	}
	if err := checkCSRKeyAndSignature(csr); err != nil {
		return nil, err
	}
	markVerified(csr)
	return csr, nil
}

// verifiedCSRs remembers the CSRs ParseCSR returned, whose self-signature
// it has checked, each with the digest of the bytes that check covered,
// so that Issue does not verify the signature of one of them a second
// time (an ECDSA verification costs about two signatures, the enrolment
// path parsed the CSR a moment before). An entry goes when its CSR is
// garbage collected. A CSR built in memory, or one whose Raw, key or
// subject bytes changed since ParseCSR returned it, is not found and is
// verified as before.
var verifiedCSRs sync.Map // weak.Pointer[x509.CertificateRequest] -> [32]byte

func csrDigest(csr *x509.CertificateRequest) [32]byte {
	h := sha256.New()
	for _, b := range [][]byte{csr.Raw, csr.RawTBSCertificateRequest, csr.RawSubjectPublicKeyInfo, csr.RawSubject, csr.Signature} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func markVerified(csr *x509.CertificateRequest) {
	wp := weak.Make(csr)
	verifiedCSRs.Store(wp, csrDigest(csr))
	runtime.AddCleanup(csr, func(wp weak.Pointer[x509.CertificateRequest]) { verifiedCSRs.Delete(wp) }, wp)
}

// verifiedBefore reports whether ParseCSR checked csr's signature and
// csr's signed bytes, key and subject are still the ones it checked.
func verifiedBefore(csr *x509.CertificateRequest) bool {
	d, ok := verifiedCSRs.Load(weak.Make(csr))
	return ok && d.([32]byte) == csrDigest(csr)
}

// checkCSRKeyAndSignature enforces P-256 in canonical DER and a valid
// self-signature. Issue runs it again so that a CSR built in memory gets
// the same checks; the signature of a CSR ParseCSR returned and nobody
// changed is not verified twice (verifiedBefore).
func checkCSRKeyAndSignature(csr *x509.CertificateRequest) error {
	if csr == nil {
		return fmt.Errorf("%w: no CSR", ErrBadCSR)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: key is %v, want ECDSA P-256", ErrKeyAlgorithm, csr.PublicKeyAlgorithm)
	}
	if pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: curve is %s, want P-256", ErrKeyAlgorithm, pub.Curve.Params().Name)
	}
	// One key, one encoding: crypto/x509 parses an SPKI with trailing
	// elements (in the SEQUENCE or its AlgorithmIdentifier) to the same
	// key, and a requester must not be able to give a key a second
	// identity by re-encoding it. KeyHash re-encodes too; this refusal
	// makes the bytes signed over and the key certified the same.
	canon, err := marshalSPKI(pub)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeyAlgorithm, err)
	}
	if !bytes.Equal(canon, csr.RawSubjectPublicKeyInfo) {
		return fmt.Errorf("%w: the subjectPublicKeyInfo is not in canonical DER (extra elements?); make the CSR again with a standard tool (smki csr, openssl req)", ErrCSRNotCanonical)
	}
	if csr.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return fmt.Errorf("%w: signature algorithm %v, want ecdsa-with-SHA256", ErrCSRSignature, csr.SignatureAlgorithm)
	}
	if verifiedBefore(csr) {
		return nil
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("%w: its signature does not verify with the public key it carries (changed after signing, "+
			"or signed with another key); make the CSR again with the key it names (smki csr, openssl req -new)", ErrCSRSignature)
	}
	return nil
}

// CSRSubject is what CheckCSRSubject allows a CSR's subject to say.
type CSRSubject struct {
	// OU is the profile's organizationalUnitName (two hex digits, e.g. 87
	// for xmlSign); an OU attribute must be exactly this.
	OU string
	// UserID is the certificate's User ID; an x500UniqueIdentifier must
	// name it.
	UserID eui64.ID
	// CN is the only common name allowed; with AnyCN, a CN of any value is
	// allowed (and returned), since the certificate will take it from the
	// CSR.
	CN    string
	AnyCN bool
	// Require: OU and x500UniqueIdentifier must both be present. The RA
	// requires them at enrolment, because an officer submitting user A's
	// key for user B is exactly the mistake a registration authority
	// exists to catch; the CA, which builds the subject from the request
	// and never from the CSR, accepts an empty subject.
	Require bool
}

// CheckCSRSubject is the one subject rule for a CSR, applied by the RA at
// enrolment and by the CA at issuance: the subject may carry only CN, OU
// and x500UniqueIdentifier, each at most once; CN and OU as text
// (UTF8String, PrintableString or IA5String); OU equal to want.OU;
// x500UniqueIdentifier naming want.UserID (a 64-bit BIT STRING, or the
// EUI-64 as text); CN as want says. Every refusal is ErrSubjectField. It
// returns the CSR's CN ("" when it has none).
func CheckCSRSubject(csr *x509.CertificateRequest, want CSRSubject) (cn string, err error) {
	attrs, err := parseName(csr.RawSubject)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, a := range attrs {
		key := a.oid.String()
		if seen[key] {
			return "", fmt.Errorf("%w: attribute %s appears twice", ErrSubjectField, key)
		}
		seen[key] = true
		switch {
		case a.oid.Equal(oidCommonName):
			if !isText(a.tag) {
				return "", fmt.Errorf("%w: CSR CN must be a UTF8String, PrintableString or IA5String", ErrSubjectField)
			}
			if cn = string(a.val); !want.AnyCN && cn != want.CN {
				return "", fmt.Errorf("%w: CSR CN %q does not match the request's %q", ErrSubjectField, a.val, want.CN)
			}
		case a.oid.Equal(oidOrganizationalUnit):
			if !isText(a.tag) || string(a.val) != want.OU {
				return "", fmt.Errorf("%w: CSR OU %q, the profile's OU is %q", ErrSubjectField, a.val, want.OU)
			}
		case a.oid.Equal(oidX500UniqueIdentifer):
			if err := userIDAttrIs(a, want.UserID); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("%w: attribute %s is not allowed (only CN, OU, x500UniqueIdentifier)", ErrSubjectField, key)
		}
	}
	if want.Require && (!seen[oidOrganizationalUnit.String()] || !seen[oidX500UniqueIdentifer.String()]) {
		return "", fmt.Errorf("%w: subject must carry OU=%s and x500UniqueIdentifier=%s", ErrSubjectField, want.OU, want.UserID)
	}
	return cn, nil
}

// CheckCSRUserID is the User ID part of CheckCSRSubject, for a caller
// that knows the User ID a CSR is for but not the whole subject the rule
// wants (smki enroll, which does not know the user's role and so the OU):
// the subject carries an x500UniqueIdentifier and it names id, as the 64-bit
// BIT STRING or the EUI-64 as text. CheckCSRSubject applies the same check
// to every x500UniqueIdentifier, besides the rest of the rule. A refusal is
// ErrSubjectField and says which User ID, if any, the CSR names.
func CheckCSRUserID(csr *x509.CertificateRequest, id eui64.ID) error {
	attrs, err := parseName(csr.RawSubject)
	if err != nil {
		return err
	}
	found := false
	for _, a := range attrs {
		if a.oid.Equal(oidX500UniqueIdentifer) {
			if err := userIDAttrIs(a, id); err != nil {
				return err
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%w: the CSR's subject has no x500UniqueIdentifier, so it names no User ID; it must name %s", ErrSubjectField, id)
	}
	return nil
}

// userIDAttrIs refuses a, an x500UniqueIdentifier, unless it names id,
// saying what it names instead.
func userIDAttrIs(a nameAttr, id eui64.ID) error {
	if uniqueIdentifierIs(a.tag, a.val, id) {
		return nil
	}
	var named *eui64.ID
	switch {
	case a.tag == cbasn1.BIT_STRING && len(a.val) == 9 && a.val[0] == 0:
		id := eui64.ID(a.val[1:])
		named = &id
	case isText(a.tag):
		if got, err := eui64.Parse(string(a.val)); err == nil {
			named = &got
		}
	}
	if named != nil {
		return fmt.Errorf("%w: the CSR's x500UniqueIdentifier names User ID %s, not %s", ErrSubjectField, named, id)
	}
	return fmt.Errorf("%w: the CSR's x500UniqueIdentifier is not the User ID %s (a 64-bit BIT STRING, or its hex text)", ErrSubjectField, id)
}

func isText(tag cbasn1.Tag) bool {
	return tag == cbasn1.UTF8String || tag == cbasn1.PrintableString || tag == cbasn1.IA5String
}

// uniqueIdentifierIs reports whether a CSR's x500UniqueIdentifier names id:
// as the 64-bit BIT STRING the certificate will carry, or as the EUI-64 in
// text (UTF8String, PrintableString or IA5String), which is all that common
// tools such as openssl req -subj can write.
func uniqueIdentifierIs(tag cbasn1.Tag, val []byte, id eui64.ID) bool {
	switch tag {
	case cbasn1.BIT_STRING:
		return len(val) == 9 && val[0] == 0 && bytes.Equal(val[1:], id[:])
	case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String:
		got, err := eui64.Parse(string(val))
		return err == nil && got == id
	}
	return false
}
