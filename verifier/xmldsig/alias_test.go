package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/smki/smki/internal/conformance"
)

// Parse reads the caller's bytes in place (no copy). Nothing handed out may
// refer to them: for documents of every shape the tree takes strings from
// (prefixed and default namespaces, prefixed attributes, entities, CDATA,
// text around and after the signature, trees larger than the pooled small
// one, DCC's own signed responses), no string of the tree or of KeyInfo
// points into the input, and overwriting the input after Release changes
// neither.
func TestVerifiedTreeDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	key, cert := testCert(t)
	signed := func(doc string, withCert bool) []byte {
		out, err := Sign([]byte(doc), key, cert, SignOptions{IncludeCertificate: withCert})
		if err != nil {
			t.Fatalf("Sign: %v\n%s", err, doc)
		}
		return out
	}
	var many strings.Builder
	for i := range 40 {
		fmt.Fprintf(&many, `<sr:Item n="%d">v%d</sr:Item>`, i, i)
	}
	type input struct {
		name string
		data []byte
		pub  *ecdsa.PublicKey
	}
	inputs := []input{
		{"sr16", signed(sr16, false), &key.PublicKey},
		{"sr16+cert", signed(sr16, true), &key.PublicKey},
		{"attrs+entities", signed(strings.Replace(sr16, "<sr:Credit/>",
			`<sr:Credit xmlns:x="urn:x" x:a="1&amp;2" b="tab&#9;here">a &lt; b<![CDATA[ <raw> ]]>&#x20AC;</sr:Credit>`, 1), false), &key.PublicKey},
		{"default-ns", signed(`<Request xmlns="urn:default" xmlns:q="urn:q" q:v="1"><a>x</a><q:b q:c="2">y</q:b></Request>`, false), &key.PublicKey},
		{"many", signed(strings.Replace(sr16, "<sr:Credit/>", many.String(), 1), false), &key.PublicKey},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) { checkNoAlias(t, in.data, in.pub) })
	}
	t.Run("dcc", func(t *testing.T) {
		data, err := os.ReadFile(conformance.Path(t, "duis", "responses", "read-inventory-response-5.4.xml"))
		if err != nil {
			t.Fatal(err)
		}
		pub, _, _ := dccCertKey(t, conformance.Path(t, "certs", "dsp-xml-sign-90B3D51F30000002-ds.pem"))
		checkNoAlias(t, data, pub)
	})
}

// checkNoAlias verifies a copy of in with pub and checks that nothing
// verified refers to the copy, before and after overwriting it.
func checkNoAlias(t *testing.T, in []byte, pub *ecdsa.PublicKey) {
	data := bytes.Clone(in)
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	hi := lo + uintptr(len(data))
	aliases := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return s != "" && p >= lo && p < hi
	}
	d, err := Parse(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := d.Verify(pub)
	if err != nil {
		t.Fatal(err)
	}
	ki := d.KeyInfo()
	for _, bad := range treeAliases(root, data) {
		t.Errorf("tree string %q refers to the input", bad)
	}
	if is := ki.IssuerSerial; is != nil && (aliases(is.IssuerName) || aliases(is.Serial)) {
		t.Errorf("IssuerSerial %+v refers to the input", *is)
	}
	for _, der := range ki.Certificates {
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(der))); p >= lo && p < hi {
			t.Error("certificate DER refers to the input")
		}
	}
	want := snapshotTree(root)
	// KeyInfo itself belongs to d (Release); the strings and DER taken
	// from it do not.
	var is IssuerSerial
	if ki.IssuerSerial != nil {
		is = *ki.IssuerSerial
	}
	certs := ki.Certificates
	wantKI := fmt.Sprintf("%+v %x", is, certs)
	d.Release()
	for i := range data {
		data[i] = 'X'
	}
	if got := snapshotTree(root); got != want {
		t.Fatalf("tree changed with the input:\n got %s\nwant %s", got, want)
	}
	if got := fmt.Sprintf("%+v %x", is, certs); got != wantKI {
		t.Fatalf("KeyInfo changed with the input:\n got %s\nwant %s", got, wantKI)
	}
}

// treeAliases returns the strings of the tree under root that point into
// data.
func treeAliases(root *Element, data []byte) []string {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	hi := lo + uintptr(len(data))
	var bad []string
	check := func(ss ...string) {
		for _, s := range ss {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); s != "" && p >= lo && p < hi {
				bad = append(bad, s)
			}
		}
	}
	var walk func(e *Element)
	walk = func(e *Element) {
		check(e.Space, e.Local, e.Text)
		for _, a := range e.Attrs {
			check(a.Space, a.Local, a.Value)
		}
		for _, c := range e.Children {
			walk(c)
		}
	}
	walk(root)
	return bad
}

// scanTree builds the element tree of a scanned document as Verify does
// (the subtree of the signature child left out), without any signature.
func scanTree(sc *scanner) *Element {
	nElems, nAttrs := sc.nElems, len(sc.attrs)
	if sc.sigCut >= 0 {
		for i := sc.sigCut; i <= sc.toks[sc.sigCut].end; i++ {
			if t := &sc.toks[i]; t.kind == tStart {
				nElems--
				nAttrs -= int(t.attrHi - t.attrLo)
			}
		}
	}
	c := newCanon(sc, false, 0)
	c.treeOnly(nElems, nAttrs, sc.sigCut)
	return c.run(0, sc.sigCut)
}
