package xmldsig

import (
	"strings"
	"testing"
)

// TestArenaSizeExact: the arena the tree is built in is sized once, to
// exactly what the build copies into it (arenaSize), so it never grows by
// append: for a Service Request, mixed content (several text runs, CDATA,
// decoded and namespaced attributes) and the hostile shapes.
func TestArenaSizeExact(t *testing.T) {
	key, cert := testCert(t)
	lim := DefaultLimits()
	docs := map[string][]byte{}
	var err error
	if docs["sr16"], err = Sign([]byte(sr16), key, cert, SignOptions{IncludeCertificate: true}); err != nil {
		t.Fatal(err)
	}
	mixed := `<r xmlns="urn:d" xmlns:p="urn:p" p:a="v" b="&amp;x" c="y">text<c/>more<![CDATA[cd]]>` +
		`<p:d x="1">t</p:d>&lt;<e>only</e><f><![CDATA[a]]><![CDATA[b]]></f></r>`
	if docs["mixed"], err = sign([]byte(mixed), key, cert, SignOptions{}, lim); err != nil {
		t.Fatal(err)
	}
	if !testing.Short() {
		for i, sh := range hostileShapes {
			docs[sh.name] = hostileDoc(t, lim, i, key, cert)
		}
	}
	for name, doc := range docs {
		d, err := Parse(doc, lim)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := newCanon(d.sc, false, 0)
		c.treeOnly(d.treeElems, d.treeAttrs, d.sig)
		want := c.arenaSize(d.sig)
		if c.run(0, d.sig) == nil {
			t.Fatalf("%s: no tree", name)
		}
		if len(c.arena) != want || (want > smallTreeArena && cap(c.arena) != want) {
			t.Errorf("%s: the tree used %d arena bytes (capacity %d), arenaSize said %d", name, len(c.arena), cap(c.arena), want)
		}
		d.Release()
	}
}

// maxSignedAlloc bounds what Parse+Verify of a document a trusted signer
// really signed allocates, as a multiple of its size, at DefaultLimits
// and MaxLimits, the Element tree included: the hostile shapes, now
// validly signed. The tree is sized once from counts (elements,
// attributes, the bytes of its own copies of source strings); an Attr is
// 48 bytes and an attribute may take 5, so an attribute-heavy document's
// tree is about ten times its size on top of the scan's (maxHostileAlloc):
// 19.3 times at the defaults, 16 at the ceilings (19.9 and 17.3 before).
const maxSignedAlloc = 21

// TestSignedAllocation: Parse+Verify of the worst documents, validly
// signed by the trusted signer, allocates at most maxSignedAlloc times
// their size at DefaultLimits and MaxLimits, and the text- and
// value-heavy ones at most maxSignedTextAlloc.
func TestSignedAllocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 4 MiB documents")
	}
	key, cert := testCert(t)
	for _, lim := range []Limits{DefaultLimits(), MaxLimits()} {
		for i, sh := range hostileShapes {
			doc := hostileDoc(t, lim, i, key, cert)
			var err error
			n := allocated(func() { err = parseVerify(doc, lim, &key.PublicKey) })
			if err != nil {
				t.Fatalf("%s: %v", sh.name, err)
			}
			x := float64(n) / float64(len(doc))
			t.Logf("MaxBytes %d %s: %d bytes; signed allocates %d (%.1fx)", lim.MaxBytes, sh.name, len(doc), n, x)
			bound := float64(maxSignedAlloc)
			if !strings.HasPrefix(sh.name, "attrs") {
				bound = maxSignedTextAlloc
			}
			if x > bound {
				t.Errorf("MaxBytes %d %s: Parse+Verify of %d validly signed bytes allocated %d bytes, %.1fx its size, want at most %.0fx",
					lim.MaxBytes, sh.name, len(doc), n, x, bound)
			}
		}
	}
}

// maxSignedTextAlloc is maxSignedAlloc for the shapes that are not
// attribute-heavy (long texts, long attribute values, text runs): their
// trees hold few nodes and mostly copies of the source. Before the arena
// was sized once (arenaSize), the tree grew it by append and texts or
// values of source bytes allocated 11.3 and 13.3 times their size; now
// 7.3 and 9.3.
const maxSignedTextAlloc = 10
