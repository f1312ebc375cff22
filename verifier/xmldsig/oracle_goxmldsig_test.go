package xmldsig

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/smki/smki/internal/conformance"
)

// goxmldsig's canonicalisers (etree-based) are a second c14n oracle beside
// xmllint, on the DCC documents (comments removed: etree-based c14n keeps
// nothing else we refuse).
func TestC14NMatchesGoxmldsig(t *testing.T) {
	t.Parallel()
	var files []string
	for _, sub := range []string{"requests", "responses"} {
		fs, _ := filepath.Glob(conformance.Path(t, "duis", sub, "*"))
		files = append(files, fs...)
	}
	for _, f := range files {
		if filepath.Base(f) == "duis-xxe.xml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = commentRE.ReplaceAll(data, nil)
		for _, mode := range []struct {
			name string
			exc  bool
			c    dsig.Canonicalizer
		}{
			{"inclusive", false, dsig.MakeC14N10RecCanonicalizer()},
			{"exclusive", true, dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")},
		} {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(data); err != nil {
				t.Fatalf("%s: etree: %v", f, err)
			}
			want, err := mode.c.Canonicalize(doc.Root())
			if err != nil {
				t.Fatalf("%s: goxmldsig: %v", f, err)
			}
			if got := canonOf(t, data, mode.exc); !bytes.Equal(got, want) {
				t.Errorf("%s %s:\n got %q\nwant %q", filepath.Base(f), mode.name, got, want)
			}
		}
	}
}
