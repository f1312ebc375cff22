package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// The trust directory's layout and manifest (docs/verifier.md, "The trust
// directory") are contract: the RA describes one in GET /v1/trust, `smki
// trust export` writes it and the verifier reads it (verifier.LoadTrust).
const (
	TrustRootFile     = "root.pem"
	TrustIssuingFile  = "issuing-ca.pem"
	TrustARLFile      = "arl.crl"
	TrustORLFile      = "orl.crl"
	TrustBundleFile   = "bundle.json"
	TrustManifestFile = "manifest.json"
)

// TrustManifest is manifest.json: when and from where the directory was
// exported, and the SHA-256 (hex) of each file by name.
type TrustManifest struct {
	ExportedAt time.Time         `json:"exported_at"`
	Source     string            `json:"source,omitempty"`
	Files      map[string]string `json:"files"`
}

// TrustFiles lays out a trust directory's files by name: the certificates
// as PEM (as GET /v1/trust carries them), the CRLs as DER, the bundle as
// signed (left out when nil). The RA's manifest and the exporter's both
// hash what it returns, so they agree byte for byte.
func TrustFiles(rootPEM, issuingPEM, arlDER, orlDER, bundleJSON []byte) map[string][]byte {
	files := map[string][]byte{
		TrustRootFile:    rootPEM,
		TrustIssuingFile: issuingPEM,
		TrustARLFile:     arlDER,
		TrustORLFile:     orlDER,
	}
	if bundleJSON != nil {
		files[TrustBundleFile] = bundleJSON
	}
	return files
}

// NewTrustManifest is the manifest of files: each one's SHA-256,
// exportedAt (UTC) and source.
func NewTrustManifest(files map[string][]byte, exportedAt time.Time, source string) *TrustManifest {
	m := &TrustManifest{ExportedAt: exportedAt.UTC(), Source: source, Files: map[string]string{}}
	for name, data := range files {
		m.Files[name] = TrustFileHash(data)
	}
	return m
}

// TrustFileHash is the manifest's hash of a file: lower-case hex SHA-256.
func TrustFileHash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
