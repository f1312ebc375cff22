package keyscan

import (
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Finding is one unencrypted private-key PEM block.
type Finding struct {
	Path string // relative to the scanned root, slash-separated
	Type string // the PEM block type, e.g. "EC PRIVATE KEY"
}

// Plaintext walks root and returns every PEM block whose type names a
// private key ("... PRIVATE KEY") and that is not encrypted: encrypted
// blocks are PKCS#8 "ENCRYPTED PRIVATE KEY" (what go.step.sm/crypto/pemutil
// writes for softkms) or legacy RFC 1423 blocks with "Proc-Type:
// 4,ENCRYPTED". Every block of every regular file is examined, whatever the
// file's name. It does not recognise raw DER keys: smki writes none.
func Plaintext(root string) ([]Finding, error) {
	var out []Finding
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if IsPlaintextKey(b) {
				out = append(out, Finding{Path: filepath.ToSlash(rel), Type: b.Type})
			}
		}
		return nil
	})
	return out, err
}

// IsPlaintextKey reports whether b is an unencrypted private key block.
func IsPlaintextKey(b *pem.Block) bool {
	return strings.HasSuffix(b.Type, "PRIVATE KEY") &&
		b.Type != "ENCRYPTED PRIVATE KEY" &&
		b.Headers["Proc-Type"] != "4,ENCRYPTED"
}
