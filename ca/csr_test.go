package ca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

func pemCSR(csr *x509.CertificateRequest) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
}

func rawName(t *testing.T, attrs ...subjectAttr) []byte {
	t.Helper()
	der, err := encodeName(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestBadCSRsWriteNothing: every refusal has its stable code, and neither
// an intent, a certificate nor an audit entry is written.
func TestBadCSRsWriteNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, good := newCSR(t, nil)
	broken := bytes.Clone(good.Raw)
	broken[len(broken)-3] ^= 0x01 // inside the signature
	truncated := pemCSR(good)
	truncated = truncated[:len(truncated)/2]
	oversized := append(pemCSR(good), bytes.Repeat([]byte(" "), MaxCSRSize)...)
	orgSubject := rawName(t, utf8Attr(oidOrganizationalUnit, "87"), subjectAttr{oid: asn1.ObjectIdentifier{2, 5, 4, 10}, tag: 0x0c, val: []byte("Evil Ltd")})

	parseCases := []struct {
		name string
		data []byte
		want error
	}{
		{"RSA key", pemCSR(csrFor(t, rsaKey, nil)), ErrKeyAlgorithm},
		{"P-384 key", pemCSR(csrFor(t, p384, nil)), ErrKeyAlgorithm},
		{"broken self-signature", broken, ErrCSRSignature},
		{"truncated PEM", truncated, ErrBadCSR},
		{"garbage", []byte("this is not a certificate request"), ErrBadCSR},
		{"garbage DER", []byte{0x30, 0x82, 0x01, 0x00, 0x01}, ErrBadCSR},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good.Raw}), ErrBadCSR},
		{"oversized", oversized, ErrTooLarge},
		{"empty", nil, ErrBadCSR},
	}
	for _, tt := range parseCases {
		_, err := ParseCSR(tt.data)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseCSR %s: err = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil {
			if m := librarytext.Find(err.Error()); m != "" {
				t.Errorf("ParseCSR %s: library text %q in %q", tt.name, m, err)
			}
		}
	}
	if _, err := ParseCSR(pemCSR(good)); err != nil {
		t.Fatalf("good PEM CSR refused: %v", err)
	}
	if _, err := ParseCSR(good.Raw); err != nil {
		t.Fatalf("good DER CSR refused: %v", err)
	}

	brokenCSR, _ := x509.ParseCertificateRequest(broken)
	subj := func(attrs ...subjectAttr) *x509.CertificateRequest {
		_, c := newCSR(t, rawName(t, attrs...))
		return c
	}
	audit := []store.AuditEntry{{Actor: "test", Action: "issue", Result: "allowed"}}
	issueCases := []struct {
		name string
		req  IssueRequest
		want error
	}{
		{"RSA key", issueReq(csrFor(t, rsaKey, nil), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrKeyAlgorithm},
		{"P-384 key", issueReq(csrFor(t, p384, nil), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrKeyAlgorithm},
		{"broken self-signature", issueReq(brokenCSR, XMLSigning, userSC, partySRP, role.SoLRContingency), ErrCSRSignature},
		{"nil CSR", issueReq(nil, XMLSigning, userSC, partySRP, role.SoLRContingency), ErrBadCSR},
		{"unknown profile", issueReq(good, "tls-server", userSC, partySRP, role.SoLRContingency), ErrUnknownProfile},
		{"system profile via Issue", issueReq(good, DSPXMLSigning, userSC, partySRP, role.SoLRContingency), ErrUnknownProfile},
		{"O attribute", issueReq(subj(utf8Attr(oidOrganizationalUnit, "87"), orgAttr(orgSubject)), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrSubjectField},
		{"OU not the profile's", issueReq(subj(utf8Attr(oidOrganizationalUnit, "02")), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrSubjectField},
		{"x500UniqueIdentifier of another user", issueReq(subj(uidAttr(userIS)), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrSubjectField},
		{"CN not requested", issueReq(subj(utf8Attr(oidCommonName, "MALLORY")), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrSubjectField},
		{"OU twice", issueReq(subj(utf8Attr(oidOrganizationalUnit, "87"), utf8Attr(oidOrganizationalUnit, "87")), XMLSigning, userSC, partySRP, role.SoLRContingency), ErrSubjectField},
		{"unknown role", issueReq(good, XMLSigning, userSC, partySRP, "XX"), ErrBadRequest},
		{"zero user", issueReq(good, XMLSigning, [8]byte{}, partySRP, role.SoLRContingency), ErrBadRequest},
		{"zero party", issueReq(good, XMLSigning, userSC, [8]byte{}, role.SoLRContingency), ErrBadRequest},
	}
	i0, c0, a0 := counts(t, e.st)
	for _, tt := range issueCases {
		tt.req.Audit = audit
		cert, _, err := e.ca.Issue(ctx, tt.req)
		if !errors.Is(err, tt.want) || cert != nil {
			t.Errorf("Issue %s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if i, c, a := counts(t, e.st); i != i0 || c != c0 || a != a0 {
		t.Errorf("refusals wrote to the store: intents %d->%d certs %d->%d audit %d->%d", i0, i, c0, c, a0, a)
	}

	// The matching subject is accepted: CN, OU and x500UniqueIdentifier
	// equal to what the request puts in the certificate.
	ok := issueReq(subj(utf8Attr(oidCommonName, "SRP SC"), utf8Attr(oidOrganizationalUnit, "87"), uidAttr(userSC)),
		XMLSigning, userSC, partySRP, role.SoLRContingency)
	ok.CommonName, ok.Audit = "SRP SC", audit
	if _, _, err := e.ca.Issue(ctx, ok); err != nil {
		t.Fatalf("matching subject refused: %v", err)
	}
	if i, c, a := counts(t, e.st); i != i0+1 || c != c0+1 || a != a0+1 {
		t.Errorf("issuance wrote intents %d->%d certs %d->%d audit %d->%d", i0, i, c0, c, a0, a)
	}
}

// orgAttr extracts the second attribute of a two-attribute raw Name.
func orgAttr(raw []byte) subjectAttr {
	as, _ := parseName(raw)
	return subjectAttr{oid: as[1].oid, tag: as[1].tag, val: as[1].val}
}

func TestParseProfile(t *testing.T) {
	t.Parallel()
	for _, p := range Profiles() {
		if got, err := ParseProfile(" " + string(p) + " "); err != nil || got != p {
			t.Errorf("ParseProfile(%s) = %s, %v", p, got, err)
		}
	}
	for _, s := range []string{"dsp-xml-signing", "", "tls"} {
		if _, err := ParseProfile(s); !errors.Is(err, ErrUnknownProfile) {
			t.Errorf("ParseProfile(%q) = %v, want ErrUnknownProfile", s, err)
		}
	}
}

// TestCheckCSRSubject is the subject rule's table, for both callers: the
// CA at issuance (a CN only as requested, an empty subject allowed) and
// the RA at enrolment (any one CN, returned; OU and x500UniqueIdentifier
// required).
func TestCheckCSRSubject(t *testing.T) {
	t.Parallel()
	key, _ := newCSR(t, nil)
	ca := CSRSubject{OU: "87", UserID: userSC, CN: "SRP SC"}
	ra := CSRSubject{OU: "87", UserID: userSC, AnyCN: true, Require: true}
	cn := func(tag cbasn1.Tag, s string) subjectAttr {
		return subjectAttr{oid: oidCommonName, tag: tag, val: []byte(s)}
	}
	ou87, uid := utf8Attr(oidOrganizationalUnit, "87"), uidAttr(userSC)
	for _, tc := range []struct {
		name   string
		attrs  []subjectAttr
		want   CSRSubject
		cn     string
		refuse bool
	}{
		{"CA: empty subject", nil, ca, "", false},
		{"CA: all three", []subjectAttr{cn(cbasn1.UTF8String, "SRP SC"), ou87, uid}, ca, "SRP SC", false},
		{"CA: PrintableString CN", []subjectAttr{cn(cbasn1.PrintableString, "SRP SC")}, ca, "SRP SC", false},
		{"CA: CN not requested", []subjectAttr{cn(cbasn1.UTF8String, "MALLORY")}, ca, "", true},
		{"CA: CN as a BMPString", []subjectAttr{cn(cbasn1.Tag(30), "SRP SC")}, ca, "", true},
		{"CA: OU not the profile's", []subjectAttr{utf8Attr(oidOrganizationalUnit, "02")}, ca, "", true},
		{"CA: OU as an OCTET STRING", []subjectAttr{{oid: oidOrganizationalUnit, tag: cbasn1.OCTET_STRING, val: []byte("87")}}, ca, "", true},
		{"CA: OU twice", []subjectAttr{ou87, ou87}, ca, "", true},
		{"CA: another user", []subjectAttr{uidAttr(userIS)}, ca, "", true},
		{"CA: O attribute", []subjectAttr{utf8Attr(asn1.ObjectIdentifier{2, 5, 4, 10}, "Evil Ltd")}, ca, "", true},
		{"RA: OU and UID", []subjectAttr{ou87, uid}, ra, "", false},
		{"RA: any CN", []subjectAttr{cn(cbasn1.IA5String, "anything"), ou87, uid}, ra, "anything", false},
		{"RA: UID as text", []subjectAttr{ou87, utf8Attr(oidX500UniqueIdentifer, "90b3d51f30010000")}, ra, "", false},
		{"RA: UID text of another user", []subjectAttr{ou87, utf8Attr(oidX500UniqueIdentifer, userIS.String())}, ra, "", true},
		{"RA: UID as a 63-bit BIT STRING", []subjectAttr{ou87, {oid: oidX500UniqueIdentifer, tag: cbasn1.BIT_STRING, val: append([]byte{1}, userSC[:]...)}}, ra, "", true},
		{"RA: no OU", []subjectAttr{uid}, ra, "", true},
		{"RA: no UID", []subjectAttr{ou87}, ra, "", true},
		{"RA: empty subject", nil, ra, "", true},
		{"RA: two CNs", []subjectAttr{cn(cbasn1.UTF8String, "a"), cn(cbasn1.UTF8String, "b"), ou87, uid}, ra, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var raw []byte
			if tc.attrs != nil {
				raw = rawName(t, tc.attrs...)
			}
			got, err := CheckCSRSubject(csrFor(t, key, raw), tc.want)
			switch {
			case tc.refuse && !errors.Is(err, ErrSubjectField):
				t.Fatalf("got %v, want ErrSubjectField", err)
			case !tc.refuse && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.refuse && got != tc.cn:
				t.Fatalf("CN %q, want %q", got, tc.cn)
			}
		})
	}
}

// TestCheckCSRUserID: the User ID part of the subject rule, which smki
// enroll checks before sending and the RA first: the x500UniqueIdentifier
// must be there and name the user; the refusal says what it names.
func TestCheckCSRUserID(t *testing.T) {
	t.Parallel()
	key, _ := newCSR(t, nil)
	ou87 := utf8Attr(oidOrganizationalUnit, "87")
	for _, tc := range []struct {
		name  string
		attrs []subjectAttr
		want  string // in the refusal; "" for none
	}{
		{"BIT STRING", []subjectAttr{ou87, uidAttr(userSC)}, ""},
		{"text", []subjectAttr{utf8Attr(oidX500UniqueIdentifer, "90b3d51f30010000")}, ""},
		{"another user", []subjectAttr{ou87, uidAttr(userIS)}, "names User ID " + userIS.String() + ", not " + userSC.String()},
		{"another user as text", []subjectAttr{utf8Attr(oidX500UniqueIdentifer, userIS.String())}, "names User ID " + userIS.String()},
		{"not an EUI-64", []subjectAttr{utf8Attr(oidX500UniqueIdentifer, "srp-sc")}, "is not the User ID " + userSC.String()},
		{"none", []subjectAttr{ou87}, "no x500UniqueIdentifier"},
		{"empty subject", nil, "no x500UniqueIdentifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var raw []byte
			if tc.attrs != nil {
				raw = rawName(t, tc.attrs...)
			}
			err := CheckCSRUserID(csrFor(t, key, raw), userSC)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrSubjectField) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want ErrSubjectField saying %q", err, tc.want)
			}
		})
	}
}

// TestParsedCSRChangedIsVerifiedAgain: Issue skips the self-signature
// check only for a CSR ParseCSR returned and nobody changed since. A CSR
// from x509.ParseCertificateRequest is not taken as checked; one from
// ParseCSR whose signature, or key and key bytes, were changed afterwards
// is refused with ErrCSRSignature; the unchanged one issues.
func TestParsedCSRChangedIsVerifiedAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	parse := func() *x509.CertificateRequest {
		t.Helper()
		_, c := newCSR(t, nil)
		csr, err := ParseCSR(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if !verifiedBefore(csr) {
			t.Fatal("ParseCSR's result is not marked as checked")
		}
		return csr
	}
	_, plain := newCSR(t, nil)
	if verifiedBefore(plain) {
		t.Error("a CSR ParseCSR never saw is taken as checked")
	}

	sig := parse()
	sig.Signature = append([]byte(nil), sig.Signature...)
	sig.Signature[len(sig.Signature)-1] ^= 1
	other, _ := newCSR(t, nil)
	key := parse()
	key.PublicKey = other.Public()
	spki, err := x509.MarshalPKIXPublicKey(other.Public())
	if err != nil {
		t.Fatal(err)
	}
	key.RawSubjectPublicKeyInfo = spki
	for i, csr := range []*x509.CertificateRequest{sig, key} {
		_, _, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0, 1, byte(i)}, partySRP, role.SoLRContingency))
		if !errors.Is(err, ErrCSRSignature) {
			t.Errorf("changed CSR %d: Issue = %v, want %v", i, err, ErrCSRSignature)
		}
	}
	if _, _, err := e.ca.Issue(ctx, issueReq(parse(), XMLSigning, eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0, 1, 9}, partySRP, role.SoLRContingency)); err != nil {
		t.Errorf("unchanged parsed CSR: %v", err)
	}
}

// TestMarshalSPKIEqualsX509: marshalSPKI writes what
// x509.MarshalPKIXPublicKey writes, for P-256 keys (its own encoding) and
// others (delegated).
func TestMarshalSPKIEqualsX509(t *testing.T) {
	var keys []any
	for i := 0; i < 50; i++ {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, &k.PublicKey)
	}
	k384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, &k384.PublicKey)
	for i, pub := range keys {
		got, err := marshalSPKI(pub)
		if err != nil {
			t.Fatal(err)
		}
		want, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("key %d: %x, want %x", i, got, want)
		}
		// KeyID reads a canonical P-256 SPKI's point without
		// encoding/asn1; both ways give method 2's identifier.
		var spki struct {
			Algorithm asn1.RawValue
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(want, &spki); err != nil {
			t.Fatal(err)
		}
		h := sha1.Sum(spki.PublicKey.Bytes) //nolint:gosec // RFC 5280 method 2
		wantID := append([]byte{0x40 | h[12]&0x0f}, h[13:]...)
		if id, err := KeyID(want); err != nil || !bytes.Equal(id, wantID) {
			t.Fatalf("key %d: KeyID %x %v, want %x", i, id, err, wantID)
		}
	}
}
