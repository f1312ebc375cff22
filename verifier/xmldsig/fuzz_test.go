package xmldsig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/smki/smki/internal/conformance"
)

// FuzzParse: Parse and Verify never panic, and every error carries one of
// the two codes; the scan-time c14n equals the token walk's, and the tree
// of an in-place scan (Parse's) equals a copy's and refers to nothing of
// the input. Seeds: the DUIS templates, DCC responses and a document
// signed by Sign.
func FuzzParse(f *testing.F) {
	key, cert := testCert(f)
	signed, err := Sign([]byte(sr16), key, cert, SignOptions{IncludeCertificate: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(sr16))
	for _, tricky := range trickyC14N {
		f.Add([]byte(tricky))
	}
	if dir, err := conformance.Find(); err == nil {
		for _, pat := range []string{"duis/requests/*", "duis/responses/*"} {
			files, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, p := range files {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	lim := Limits{MaxBytes: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The scan-time inclusive c14n equals the token walk's.
		if sc, err := scan(data, lim, false); err == nil {
			checkEscFlags(t, sc)
			walk := newCanon(sc, false, len(data))
			walk.run(0, sc.sigCut)
			if !bytes.Equal(walk.out, sc.out) {
				t.Fatalf("scan-time c14n %q != walk %q", sc.out, walk.out)
			}
			// Parse's in-place scan gives the same tree as a scan of a
			// copy, and a tree that refers to nothing of the input (it
			// stays the same when the input is overwritten).
			in := bytes.Clone(data)
			var asc scanner
			if err := scanInto(&asc, new(scanBufs), nil, nil, in, lim, false, true); err != nil {
				t.Fatalf("in-place scan fails where the copy's succeeds: %v", err)
			}
			want, tree := snapshotTree(scanTree(sc)), scanTree(&asc)
			if got := snapshotTree(tree); got != want {
				t.Fatalf("in-place tree\n%s\n!= copy's\n%s", got, want)
			}
			if bad := treeAliases(tree, in); len(bad) > 0 {
				t.Fatalf("tree strings %q refer to the input", bad)
			}
			for i := range in {
				in[i] = 'X'
			}
			if got := snapshotTree(tree); got != want {
				t.Fatalf("tree changed with the input:\n%s\n!= %s", got, want)
			}
		}
		d, err := Parse(data, lim)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		root, canonical, err := d.Verify(&key.PublicKey)
		if err != nil {
			if !errors.Is(err, ErrSignature) || root != nil || canonical != nil {
				t.Fatalf("Verify: %v", err)
			}
			return
		}
		if root == nil || len(canonical) == 0 {
			t.Fatal("verified without a tree")
		}
	})
}
