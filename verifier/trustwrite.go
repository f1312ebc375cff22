package verifier

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/durable"
)

// WriteTrust writes a trust directory into dir, which must exist and hold
// none of these files: each of files (by its name in the layout above:
// root.pem, issuing-ca.pem, arl.crl, orl.crl, bundle.json; see
// bundle.TrustFiles) durably, then manifest.json with their SHA-256,
// exportedAt and source. `smki trust export` writes with it (into a new
// directory it then renames into place).
func WriteTrust(dir string, files map[string][]byte, exportedAt time.Time, source string) (*TrustManifest, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		if name != filepath.Base(name) || name == TrustManifestFile {
			return nil, fmt.Errorf("%w: %q is not a trust directory file name", ErrConfig, name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := durable.WriteNew(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return nil, err
		}
	}
	m := bundle.NewTrustManifest(files, exportedAt, source)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := durable.WriteNew(filepath.Join(dir, TrustManifestFile), append(mj, '\n'), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}
