package xmldsig

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// snapshotTree renders an element tree to a string (names, attributes,
// texts, recursively) so that two moments can be compared.
func snapshotTree(e *Element) string {
	var b strings.Builder
	var walk func(e *Element)
	walk = func(e *Element) {
		b.WriteString("<{" + e.Space + "}" + e.Local)
		for _, a := range e.Attrs {
			b.WriteString(" " + a.Space + ":" + a.Local + "=" + a.Value)
		}
		b.WriteString(">" + e.Text)
		for _, c := range e.Children {
			walk(c)
		}
		b.WriteString("</>")
	}
	walk(e)
	return b.String()
}

// After Release, the element tree, the KeyInfo certificate DER and the
// strings taken from the Document stay what they were while the pooled
// scratch is reused by other documents, concurrently.
func TestReleaseKeepsTreeAndCertificates(t *testing.T) {
	t.Parallel()
	key, cert := testCert(t)
	signed := func(body string) []byte {
		doc, err := Sign([]byte(strings.Replace(sr16, "<sr:Credit/>", body, 1)), key, cert, SignOptions{IncludeCertificate: true})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	first := signed("<sr:Credit/>")
	d, err := Parse(first, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := d.Verify(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	der := d.KeyInfo().Certificates[0]
	want, wantDER := snapshotTree(root), bytes.Clone(der)
	d.Release()
	d.Release() // a second Release is harmless

	// Reuse the scratch many times over with other content.
	other := signed(`<sr:Other a="zzzzzzzz">yyyyyyyyyyyyyyyyyyyy</sr:Other>`)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				d2, err := Parse(other, DefaultLimits())
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := d2.Verify(&key.PublicKey); err != nil {
					t.Error(err)
				}
				d2.Release()
			}
		})
	}
	wg.Wait()
	if got := snapshotTree(root); got != want {
		t.Fatalf("tree changed after Release:\n got %s\nwant %s", got, want)
	}
	if !bytes.Equal(der, wantDER) || !bytes.Equal(der, cert.Raw) {
		t.Fatal("KeyInfo certificate DER changed after Release")
	}
}

// A document that fails to parse, or whose signature fails, returns its
// scratch without leaking state into the next Parse.
func TestParseAfterFailuresStillVerifies(t *testing.T) {
	t.Parallel()
	key, cert := testCert(t)
	good, err := Sign([]byte(sr16), key, cert, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{
		[]byte("<a><b></a>"),
		bytes.Replace(good, []byte("<ds:SignedInfo>"), []byte("<ds:SignedInfo Id=\"x\">"), 1),
	} {
		if _, err := Parse(bad, DefaultLimits()); err == nil {
			t.Fatalf("parsed %q", bad)
		}
	}
	d, err := Parse(good, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	if _, _, err := d.Verify(&key.PublicKey); err != nil {
		t.Fatal(err)
	}
}
