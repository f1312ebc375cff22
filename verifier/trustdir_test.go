package verifier_test

import (
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smki/smki/verifier"
)

// TestLoadTrust: the sample trust directory rewritten in each form a user
// may have it, with the exact outcome of each.
func TestLoadTrust(t *testing.T) {
	t.Parallel()
	src := filepath.Join("..", "docs", "examples", "trust")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	der := func(p []byte) []byte { b, _ := pem.Decode(p); return b.Bytes }
	crlPEM := func(d []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: d}) }
	root, issuing, arl, orl, bundleJSON := read("root.pem"), read("issuing-ca.pem"), read("arl.crl"), read("orl.crl"), read("bundle.json")
	base := func() map[string][]byte {
		return map[string][]byte{"root.pem": root, "issuing-ca.pem": issuing, "arl.crl": arl, "orl.crl": orl, "bundle.json": bundleJSON}
	}
	for name, tc := range map[string]struct {
		files    map[string][]byte
		manifest bool             // write a manifest of files (verifier.WriteTrust)
		after    func(dir string) // a change behind the manifest
		wantErr  string           // "" for success
	}{
		"as exported":        {files: base(), manifest: true},
		"no manifest":        {files: base()},
		"DER certificates":   {files: with(base(), "root.pem", der(root), "issuing-ca.pem", der(issuing))},
		"PEM CRLs":           {files: with(base(), "arl.crl", crlPEM(arl), "orl.crl", crlPEM(orl))},
		"no root":            {files: without(base(), "root.pem"), wantErr: "root.pem: missing"},
		"garbage root":       {files: with(base(), "root.pem", []byte("hello")), wantErr: "root.pem: neither PEM nor a DER certificate"},
		"garbage CRL":        {files: with(base(), "orl.crl", []byte("hello")), wantErr: "orl.crl: neither PEM nor a DER CRL"},
		"certificate as CRL": {files: with(base(), "orl.crl", root), wantErr: "orl.crl: PEM that is not exactly one X509 CRL block"},
		"file changed after export": {files: base(), manifest: true, after: func(dir string) {
			os.WriteFile(filepath.Join(dir, "arl.crl"), crlPEM(arl), 0o644)
		}, wantErr: "arl.crl has SHA-256"},
		"CRL added after export": {files: without(base(), "orl.crl"), manifest: true, after: func(dir string) {
			os.WriteFile(filepath.Join(dir, "orl.crl"), orl, 0o644)
		}, wantErr: "does not name orl.crl"},
		"file removed after export": {files: base(), manifest: true, after: func(dir string) {
			os.Remove(filepath.Join(dir, "bundle.json"))
		}, wantErr: "names bundle.json, which is missing"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.manifest {
				if _, err := verifier.WriteTrust(dir, tc.files, sampleExportedAt, "test"); err != nil {
					t.Fatal(err)
				}
			} else {
				for n, b := range tc.files {
					os.WriteFile(filepath.Join(dir, n), b, 0o644)
				}
			}
			if tc.after != nil {
				tc.after(dir)
			}
			trust, err := verifier.LoadTrust(dir)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, verifier.ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadTrust: %v, want E_VERIFIER_CONFIG with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadTrust: %v", err)
			}
			if len(trust.Roots) != 1 || len(trust.Intermediates) != 1 || len(trust.CRLs) != 2 || (trust.Manifest != nil) != tc.manifest {
				t.Fatalf("loaded %d roots, %d intermediates, %d CRLs, manifest %v", len(trust.Roots), len(trust.Intermediates), len(trust.CRLs), trust.Manifest != nil)
			}
			opts, err := trust.Options(sampleExportedAt)
			if err != nil {
				t.Fatalf("Options: %v", err)
			}
			if _, err := verifier.New(opts); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

var sampleExportedAt = exampleBuildAt.Add(60e9)

func with(m map[string][]byte, kv ...any) map[string][]byte {
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].([]byte)
	}
	return m
}

func without(m map[string][]byte, name string) map[string][]byte {
	delete(m, name)
	return m
}
