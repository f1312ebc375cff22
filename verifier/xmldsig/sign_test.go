package xmldsig

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/need"
)

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// needXmlsec: xmlsec1 is the interop oracle.
func needXmlsec(t *testing.T) {
	t.Helper()
	need.Tool(t, "xmlsec1", "xmlsec1")
}

// requestTemplates returns the DUIS request templates (placeholder
// signatures), not the XXE sample or the DCC response copies.
func requestTemplates(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(conformance.Path(t, "duis", "requests", "*.XML"))
	if err != nil || len(files) < 20 {
		t.Fatalf("templates: %v (%d)", err, len(files))
	}
	return files
}

// Every template signed by Sign passes our Parse+Verify and xmlsec1
// --verify; the verified tree has no signature element and the KeyInfo
// names the certificate.
func TestSignInterop(t *testing.T) {
	t.Parallel()
	needXmlsec(t)
	key, cert := testCert(t)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "cert.pem")
	writePEM(t, certPath, "CERTIFICATE", cert.Raw)
	type job struct{ name, path string }
	var jobs []job
	for i, f := range requestTemplates(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		opts := SignOptions{IncludeCertificate: i%2 == 1}
		out, err := Sign(data, key, cert, opts)
		if err != nil {
			t.Fatalf("%s: Sign: %v", filepath.Base(f), err)
		}
		d, err := Parse(out, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: Parse: %v", filepath.Base(f), err)
		}
		root, _, err := d.Verify(&key.PublicKey)
		if err != nil {
			t.Fatalf("%s: Verify: %v", filepath.Base(f), err)
		}
		if root.Child(NamespaceDS, "Signature") != nil {
			t.Fatalf("%s: signature in the verified tree", filepath.Base(f))
		}
		ki := d.KeyInfo()
		if ki.IssuerSerial == nil || ki.IssuerSerial.IssuerName != "CN=Z1,OU=07" || ki.IssuerSerial.SerialNumber().Cmp(cert.SerialNumber) != 0 {
			t.Fatalf("%s: KeyInfo %+v", filepath.Base(f), ki.IssuerSerial)
		}
		if opts.IncludeCertificate != (len(ki.Certificates) == 1 && bytes.Equal(ki.Certificates[0], cert.Raw)) {
			t.Fatalf("%s: certificates %d", filepath.Base(f), len(ki.Certificates))
		}
		if bytes.Contains(out, []byte("<!--")) {
			t.Fatalf("%s: placeholder comment kept", filepath.Base(f))
		}
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		if !testing.Short() || i%4 == 0 {
			jobs = append(jobs, job{filepath.Base(f), p})
		}
	}
	// xmlsec1 is a process per file: run a few at once.
	sem := make(chan struct{}, 4)
	errs := make(chan error, len(jobs))
	for _, j := range jobs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			cmd := exec.Command("xmlsec1", "--verify", "--pubkey-cert-pem", certPath, j.path)
			if msg, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%s: xmlsec1 --verify rejects our signature: %v\n%s", j.name, err, msg)
				return
			}
			errs <- nil
		}()
	}
	for range jobs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Documents signed by xmlsec1 --sign pass Parse+Verify, with the digest over
// inclusive c14n (enveloped transform only) and over exclusive c14n
// (enveloped then exc-c14n).
func TestVerifyXmlsecSigned(t *testing.T) {
	t.Parallel()
	needXmlsec(t)
	key, cert := testCert(t)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	writePEM(t, keyPath, "PRIVATE KEY", keyDER)
	writePEM(t, certPath, "CERTIFICATE", cert.Raw)
	const skeleton = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>
      <ds:Reference URI="">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>EXC
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial/>CERT</ds:X509Data></ds:KeyInfo>
  </ds:Signature>`
	tmpl, err := os.ReadFile(conformance.Path(t, "duis", "requests", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		exc, cert bool
	}{{"enveloped", false, false}, {"enveloped+exc", true, false}, {"with-cert", false, true}} {
		sk := skeleton
		sk = strings.Replace(sk, "EXC", map[bool]string{true: "\n          <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"}[tc.exc], 1)
		if tc.cert { // xmlsec fills X509Certificate and then leaves X509IssuerSerial empty
			sk = strings.Replace(sk, "<ds:X509IssuerSerial/>CERT", "<ds:X509Certificate/>", 1)
		} else {
			sk = strings.Replace(sk, "CERT", "", 1)
		}
		i := bytes.Index(tmpl, []byte("<ds:Signature "))
		j := bytes.Index(tmpl, []byte("</ds:Signature>")) + len("</ds:Signature>")
		doc := string(tmpl[:i]) + sk + string(tmpl[j:])
		p := filepath.Join(dir, tc.name+".xml")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		signed, err := exec.Command("xmlsec1", "--sign", "--privkey-pem", keyPath+","+certPath, p).Output()
		if err != nil {
			t.Fatalf("%s: xmlsec1 --sign: %v", tc.name, err)
		}
		d, err := Parse(signed, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: Parse: %v\n%s", tc.name, err, signed)
		}
		if d.excDigest != tc.exc {
			t.Fatalf("%s: excDigest %v", tc.name, d.excDigest)
		}
		root, canonical, err := d.Verify(&key.PublicKey)
		if err != nil {
			t.Fatalf("%s: Verify: %v", tc.name, err)
		}
		if root.Local != "Request" || !bytes.Contains(canonical, []byte("<sr:Credit></sr:Credit>")) {
			t.Fatalf("%s: tree/canonical wrong", tc.name)
		}
		if ki := d.KeyInfo(); tc.cert && (len(ki.Certificates) != 1 || !bytes.Equal(ki.Certificates[0], cert.Raw)) {
			t.Fatalf("%s: certificates %d", tc.name, len(ki.Certificates))
		} else if is := ki.IssuerSerial; !tc.cert && is == nil || is != nil && (is.IssuerName != IssuerName(cert) || is.SerialNumber().Cmp(cert.SerialNumber) != 0) {
			t.Fatalf("%s: KeyInfo %+v", tc.name, d.KeyInfo().IssuerSerial)
		}
		// One flipped content byte breaks the digest.
		bad := bytes.Replace(signed, []byte("<sr:Credit/>"), []byte("<sr:Credit />"), 1)
		bad = bytes.Replace(bad, []byte("1.6</sr:ServiceReferenceVariant>"), []byte("1.7</sr:ServiceReferenceVariant>"), 1)
		if d, err := Parse(bad, DefaultLimits()); err != nil {
			t.Fatal(err)
		} else if _, _, err := d.Verify(&key.PublicKey); !errors.Is(err, ErrSignature) {
			t.Fatalf("%s: tampered document: %v", tc.name, err)
		}
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	key, cert := testCert(t)
	other, _ := testCert(t)
	doc := []byte(`<r xmlns="urn:x"><a/></r>`)
	if _, err := Sign(doc, other, cert, SignOptions{}); !errors.Is(err, ErrSigner) {
		t.Fatalf("mismatched key: %v", err)
	}
	// Comments are dropped (they are not signed, and Parse refuses them).
	if out, err := Sign([]byte("<!-- a --><r>x<!-- c -->y<a/></r><!-- b -->"), key, cert, SignOptions{}); err != nil || bytes.Contains(out, []byte("<!--")) || !bytes.Contains(out, []byte("<r>xy<a/><ds:Signature")) {
		t.Fatalf("comments: %v\n%s", err, out)
	}
	if _, err := Sign([]byte(`<r/>`), key, cert, SignOptions{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty-element root: %v", err)
	}
	if _, err := Sign([]byte(`<r><!DOCTYPE x></r>`), key, cert, SignOptions{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("DTD: %v", err)
	}
	if _, err := Sign([]byte(`<r xmlns:ds="`+NamespaceDS+`"><ds:Signature/><a/></r>`), key, cert, SignOptions{}); !errors.Is(err, ErrSignature) {
		t.Fatalf("placeholder not last: %v", err)
	}
	out, err := Sign(doc, key, cert, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Signing a signed document replaces the signature, never nests it.
	again, err := Sign(out, key, cert, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(again, []byte("<ds:Signature ")) != 1 {
		t.Fatalf("re-signed document has %d signatures", bytes.Count(again, []byte("<ds:Signature ")))
	}
}
