package verifier_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smki/smki/internal/errcodes"
	"github.com/smki/smki/internal/strictjson"
	"github.com/smki/smki/verifier"
)

// FuzzLoadTrustManifest: the manifest.json of a trust directory (written
// by smki trust export, or by whoever handed the directory over) never
// panics LoadTrust; a refusal is coded in smki's words; a manifest that is
// accepted has one meaning (it is one JSON object without a member twice:
// internal/strictjson's rule, so a reviewer and the loader read the same
// hashes), names every file LoadTrust read with that file's SHA-256, and
// round-trips: written back as JSON it is accepted again, unchanged.
func FuzzLoadTrustManifest(f *testing.F) {
	src := filepath.Join("..", "docs", "examples", "trust")
	dir := f.TempDir()
	files := map[string][]byte{}
	for _, name := range []string{"root.pem", "issuing-ca.pem", "arl.crl", "orl.crl", "bundle.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			f.Fatal(err)
		}
		files[name] = b
	}
	seedDir := f.TempDir()
	if _, err := verifier.WriteTrust(seedDir, files, sampleExportedAt, "test"); err != nil {
		f.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(seedDir, verifier.TrustManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(manifest)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"exported_at":"2026-01-01T00:00:00Z","files":{"../root.pem":"00"}}`))
	var m verifier.TrustManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		f.Fatal(err)
	}
	// root.pem twice: a reader keeping the first sees a wrong hash, the
	// loader (keeping the last) the right one.
	dup, _ := json.Marshal(m)
	dup = append([]byte(`{"files":{"root.pem":"00"},`), dup[1:]...)
	f.Add(dup)
	f.Add(append(append([]byte{}, manifest...), []byte(` {"files":{}}`)...))
	mpath := filepath.Join(dir, verifier.TrustManifestFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(mpath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tr, err := verifier.LoadTrust(dir)
		if err != nil {
			// A refusal may name what the manifest named.
			var named struct {
				Files map[string]string `json:"files"`
			}
			_ = json.Unmarshal(data, &named)
			var echoed []string
			for name, hash := range named.Files {
				echoed = append(echoed, name, hash)
			}
			errcodes.CodedEchoing(t, err, echoed...)
			return
		}
		if tr.Manifest == nil {
			t.Fatal("a manifest accepted but not returned")
		}
		var strict verifier.TrustManifest
		if err := strictjson.Decode(data, &strict); err != nil {
			t.Fatalf("accepted a manifest with more than one meaning (%v): %q", err, data)
		}
		for name, b := range files {
			if h, ok := tr.Manifest.Files[name]; !ok || !strings.EqualFold(h, verifier.TrustFileHash(b)) {
				t.Fatalf("accepted a manifest that gives %s the hash %q, not %s", name, h, verifier.TrustFileHash(b))
			}
		}
		again, err := json.Marshal(tr.Manifest)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mpath, again, 0o644); err != nil {
			t.Fatal(err)
		}
		tr2, err := verifier.LoadTrust(dir)
		if err != nil || !reflect.DeepEqual(tr2.Manifest, tr.Manifest) {
			t.Fatalf("written back, the manifest %s reads %+v, %v; was %+v", again, tr2.Manifest, err, tr.Manifest)
		}
	})
}
