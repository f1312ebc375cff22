package verifier

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/internal/strictjson"
)

// The trust directory (docs/verifier.md, "The trust directory") is what a
// verifier needs to start: `smki trust export` writes it, `smki testpki`
// writes one for its scenario, and LoadTrust reads it.
//
//	root.pem        the Root OCA (required; PEM or DER)
//	issuing-ca.pem  the Issuing OCA(s) (optional; PEM or DER)
//	*.crl           CRLs: arl.crl, orl.crl (PEM or DER; each must verify)
//	bundle.json     the signed policy bundle (optional here; a Verifier needs one)
//	manifest.json   optional: each file's SHA-256 and the time of export
const (
	TrustRootFile     = bundle.TrustRootFile
	TrustIssuingFile  = bundle.TrustIssuingFile
	TrustBundleFile   = bundle.TrustBundleFile
	TrustManifestFile = bundle.TrustManifestFile
	trustCRLPattern   = "*.crl"
)

// maxManifest bounds manifest.json (a hash for each of a few files);
// certificates and CRLs have opfile's caps, the bundle
// bundle.MaxBundleSize.
const maxManifest = 1 << 20

// TrustManifest is manifest.json (the contract's bundle.TrustManifest).
type TrustManifest = bundle.TrustManifest

// Trust is a loaded trust directory.
type Trust struct {
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
	CRLs          [][]byte // DER, in file-name order
	// Bundle is the signed bundle envelope (bundle.json) as read, not yet
	// opened: Options opens it against Roots. Nil when the directory has none.
	Bundle   []byte
	Manifest *TrustManifest // nil when the directory has none
}

// LoadTrust reads the trust directory dir. Certificates and CRLs may be
// PEM or DER. When manifest.json is present, every file it names must be
// there with that SHA-256, and every CRL and the bundle in dir must be
// named in it: a file changed or added behind the manifest is refused. A
// refusal wraps ErrConfig and names the file.
func LoadTrust(dir string) (*Trust, error) {
	t := &Trust{}
	read := func(name string, limit int64) ([]byte, error) {
		b, err := readTrustFile(filepath.Join(dir, name), limit)
		if err != nil {
			return nil, fmt.Errorf("%w: trust directory %s: %s: %v", ErrConfig, dir, name, err)
		}
		return b, nil
	}
	seen := map[string][]byte{}
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }

	b, err := read(TrustRootFile, opfile.MaxCertificate)
	if err != nil {
		return nil, err
	}
	seen[TrustRootFile] = b
	if t.Roots, err = parseCerts(b); err != nil {
		return nil, fmt.Errorf("%w: trust directory %s: %s: %v", ErrConfig, dir, TrustRootFile, err)
	}
	if exists(TrustIssuingFile) {
		if b, err = read(TrustIssuingFile, opfile.MaxCertificate); err != nil {
			return nil, err
		}
		seen[TrustIssuingFile] = b
		if t.Intermediates, err = parseCerts(b); err != nil {
			return nil, fmt.Errorf("%w: trust directory %s: %s: %v", ErrConfig, dir, TrustIssuingFile, err)
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, trustCRLPattern))
	if err != nil {
		return nil, fmt.Errorf("%w: trust directory %s: %v", ErrConfig, dir, err)
	}
	sort.Strings(names)
	for _, n := range names {
		name := filepath.Base(n)
		if b, err = read(name, opfile.MaxCRL); err != nil {
			return nil, err
		}
		seen[name] = b
		der, err := crlDER(b)
		if err != nil {
			return nil, fmt.Errorf("%w: trust directory %s: %s: %v", ErrConfig, dir, name, err)
		}
		t.CRLs = append(t.CRLs, der)
	}
	if exists(TrustBundleFile) {
		if t.Bundle, err = read(TrustBundleFile, bundle.MaxBundleSize); err != nil {
			return nil, err
		}
		seen[TrustBundleFile] = t.Bundle
	}
	if exists(TrustManifestFile) {
		if b, err = read(TrustManifestFile, maxManifest); err != nil {
			return nil, err
		}
		if t.Manifest, err = checkManifest(b, seen, exists); err != nil {
			return nil, fmt.Errorf("%w: trust directory %s: %s: %v", ErrConfig, dir, TrustManifestFile, err)
		}
	}
	return t, nil
}

// RootPool returns t's roots as a pool, for bundle.Open and Follower.Roots.
func (t *Trust) RootPool() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range t.Roots {
		p.AddCert(c)
	}
	return p
}

// Options opens t's bundle against t's roots at now and returns the
// Options of a Verifier over t: roots, intermediates, CRLs and bundle.
// Set the remaining fields (Clock, Replay, Logger, ...) before New.
func (t *Trust) Options(now time.Time) (Options, error) {
	if t.Bundle == nil {
		return Options{}, fmt.Errorf("%w: the trust directory has no %s", ErrConfig, TrustBundleFile)
	}
	b, err := bundle.Open(t.Bundle, t.RootPool(), now)
	if err != nil {
		return Options{}, err
	}
	return Options{Roots: t.Roots, Intermediates: t.Intermediates, CRLs: t.CRLs, Bundle: b}, nil
}

// TrustFileHash is the manifest's hash of a file: lower-case hex SHA-256.
func TrustFileHash(data []byte) string { return bundle.TrustFileHash(data) }

func checkManifest(b []byte, seen map[string][]byte, exists func(string) bool) (*TrustManifest, error) {
	// strictjson: one meaning, so a file named twice cannot show a
	// reviewer one hash and the loader another, nor data after the
	// object go unread.
	var m TrustManifest
	if err := strictjson.Decode(b, &m); err != nil {
		return nil, fmt.Errorf("not a trust manifest (JSON {exported_at, source, files}): %v", err)
	}
	for name, want := range m.Files {
		if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("names %q, which is not a file of the directory", name)
		}
		data, ok := seen[name]
		if !ok {
			if !exists(name) {
				return nil, fmt.Errorf("names %s, which is missing", name)
			}
			continue // a file the loader does not read
		}
		if got := TrustFileHash(data); got != strings.ToLower(want) {
			return nil, fmt.Errorf("%s has SHA-256 %s, the manifest says %s: the file changed after export; export again", name, got, want)
		}
	}
	for name := range seen {
		if _, ok := m.Files[name]; !ok {
			return nil, fmt.Errorf("does not name %s: a file added after export; remove it or export again", name)
		}
	}
	return &m, nil
}

// parseCerts reads one or more PEM CERTIFICATE blocks, or one DER certificate.
func parseCerts(b []byte) ([]*x509.Certificate, error) {
	if isPEM(b) {
		cs, err := dccx509.ParsePEM(b)
		if err != nil {
			return nil, errors.New("no certificate that parses in the PEM")
		}
		return cs, nil
	}
	c, err := dccx509.ParseCertificate(b)
	if err != nil {
		return nil, errors.New("neither PEM nor a DER certificate that parses")
	}
	return []*x509.Certificate{c}, nil
}

// crlDER returns the DER of a PEM ("X509 CRL") or DER CRL; the signature
// is checked later, against the trusted CAs (New).
func crlDER(b []byte) ([]byte, error) {
	if isPEM(b) {
		blk, rest := pem.Decode(bytes.TrimSpace(b))
		if blk == nil || blk.Type != "X509 CRL" || len(bytes.TrimSpace(rest)) != 0 {
			return nil, errors.New("PEM that is not exactly one X509 CRL block")
		}
		b = blk.Bytes
	}
	if _, err := x509.ParseRevocationList(b); err != nil {
		return nil, errors.New("neither PEM nor a DER CRL that parses")
	}
	return b, nil
}

func isPEM(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN"))
}

// readTrustFile reads path through opfile.Read, in the trust directory's
// words ("missing").
func readTrustFile(path string, limit int64) ([]byte, error) {
	b, err := opfile.Read(path, limit)
	switch {
	case err == nil, errors.Is(err, opfile.ErrTooLarge):
		return b, err
	case errors.Is(err, os.ErrNotExist):
		return nil, errors.New("missing")
	}
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "read" {
		return nil, errors.New("cannot be read")
	}
	return nil, errors.New("cannot be opened (permissions?)")
}

// Check does what New does with t's certificates and CRLs, without a
// bundle: every CRL must verify against t's CAs. For a directory without
// bundle.json (the public part of GET /v1/trust), whose bundle a sidecar
// fetches from the RA.
func (t *Trust) Check() error {
	ta, err := newTrustAnchors(t.Roots, t.Intermediates)
	if err != nil {
		return err
	}
	_, err = loadCRLs(t.CRLs, ta)
	return err
}
