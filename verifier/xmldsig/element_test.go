package xmldsig

import (
	"testing"
)

// The tree Verify returns: names resolved, attributes decoded, Text the
// concatenation of the direct text runs only, the signature gone.
func TestVerifiedTree(t *testing.T) {
	t.Parallel()
	key, cert := testCert(t)
	doc := `<r:root xmlns:r="urn:r" xmlns="urn:d" a="1 &amp; 2" r:b="x">
 head<e k="v&#9;w">t&lt;1</e>mid<![CDATA[<c>]]><f><g/>in</f>tail&#13;
</r:root>`
	signed, err := Sign([]byte(doc), key, cert, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(signed, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	root, canonical, err := d.Verify(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if root.Space != "urn:r" || root.Local != "root" {
		t.Fatalf("root {%s}%s", root.Space, root.Local)
	}
	if v, ok := root.Attr("", "a"); !ok || v != "1 & 2" {
		t.Fatalf("a = %q", v)
	}
	if v, ok := root.Attr("urn:r", "b"); !ok || v != "x" {
		t.Fatalf("r:b = %q", v)
	}
	if len(root.Attrs) != 2 {
		t.Fatalf("namespace declarations leaked into Attrs: %+v", root.Attrs)
	}
	if want := "\n head" + "mid<c>" + "tail\r\n"; root.Text != want {
		t.Fatalf("root.Text = %q, want %q", root.Text, want)
	}
	kids := root.ChildElements()
	if len(kids) != 2 {
		t.Fatalf("%d children", len(kids))
	}
	e := root.Child("urn:d", "e")
	if e == nil || e.Text != "t<1" {
		t.Fatalf("e = %+v", e)
	}
	if v, _ := e.Attr("", "k"); v != "v\tw" {
		t.Fatalf("k = %q", v)
	}
	f := root.Child("urn:d", "f")
	if f == nil || f.Text != "in" || f.Child("urn:d", "g") == nil || f.Child("", "g") != nil {
		t.Fatalf("f = %+v", f)
	}
	if root.Child(NamespaceDS, "Signature") != nil || root.Child("urn:d", "nope") != nil {
		t.Fatal("unexpected child")
	}
	var nilElem *Element
	if nilElem.Child("", "x") != nil || nilElem.ChildElements() != nil {
		t.Fatal("nil element")
	}
	want := `<r:root xmlns="urn:d" xmlns:r="urn:r" a="1 &amp; 2" r:b="x">` + "\n" +
		` head<e k="v&#x9;w">t&lt;1</e>mid&lt;c&gt;<f><g></g>in</f>tail&#xD;` + "\n</r:root>"
	if string(canonical) != want {
		t.Fatalf("canonical\n%q\nwant\n%q", canonical, want)
	}
}

// TestIssuerName: the X509IssuerName form DCC's tool writes (reverse DER
// order, no spaces). How names are compared is the verifier's dnKey
// (verifier/names_test.go).
func TestIssuerName(t *testing.T) {
	t.Parallel()
	_, cert := testCert(t)
	if got := IssuerName(cert); got != "CN=Z1,OU=07" {
		t.Fatalf("IssuerName = %q", got)
	}
}

// One Document verified from many goroutines: each gets its own tree.
func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	base, key := signedSR16(t)
	d, err := Parse([]byte(base), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	roots := make(chan *Element, 8)
	for range 8 {
		go func() {
			root, _, err := d.Verify(&key.PublicKey)
			errs <- err
			roots <- root
		}()
	}
	seen := map[*Element]bool{}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		r := <-roots
		if seen[r] {
			t.Fatal("two Verify calls share a tree")
		}
		seen[r] = true
	}
}
