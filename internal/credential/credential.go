// Package credential owns the layout of an officer credential directory,
// the one place its file names are spelled:
//
//	key.pem   the officer's P-256 private key, PKCS#8 PEM, mode 0600
//	cert.pem  the client certificate the RA's access CA issued for it
//	ca.pem    the access root, which also verifies the RA's TLS certificate
//
// It reads a directory as a client TLS configuration, writes one without
// replacing what is there, swaps a renewed one in, and reads PEM private
// keys (LoadKey, also for key files outside a credential directory). It
// does not decide who gets a credential (ra) or talk to the RA (the
// client); errors are plain sentences for the caller to wrap in its code.
package credential

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/internal/opfile"
)

// The files of a credential directory.
const (
	KeyFile  = "key.pem"
	CertFile = "cert.pem"
	CAFile   = "ca.pem"
)

// Files are the files of a credential directory, in the order Swap renames
// them in.
var Files = [...]string{KeyFile, CertFile, CAFile}

// KeyPath, CertPath and CAPath name the files of the credential in dir.
func KeyPath(dir string) string  { return filepath.Join(dir, KeyFile) }
func CertPath(dir string) string { return filepath.Join(dir, CertFile) }
func CAPath(dir string) string   { return filepath.Join(dir, CAFile) }

// ClientTLS reads the credential in dir into a TLS 1.3 client
// configuration that presents cert.pem with key.pem and trusts only ca.pem.
// An unusable directory is told in plain words: which file is missing or
// wrong, and what makes it (smki officer add; after smki officer keygen,
// the appointer's cert.pem and ca.pem).
func ClientTLS(dir string) (*tls.Config, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("no officer credential at %s: give --officer the directory smki officer add wrote "+
			"(key.pem, cert.pem, ca.pem)", dir)
	}
	read := func(name string) ([]byte, error) {
		max := int64(opfile.MaxCertificate)
		if name == KeyFile {
			max = opfile.MaxKey
		}
		b, err := opfile.Read(filepath.Join(dir, name), max)
		switch {
		case err == nil:
			return b, nil
		case errors.Is(err, opfile.ErrTooLarge):
			return nil, fmt.Errorf("credential %s: %w", dir, err)
		case errors.Is(err, os.ErrNotExist) && name != KeyFile && fileExists(filepath.Join(dir, "officer.csr")):
			return nil, fmt.Errorf("credential %s has no %s yet: send its officer.csr to the officer who appoints you "+
				"(smki officer add --csr, or smki officer reissue), then put the cert.pem and ca.pem they send back into %s", dir, name, dir)
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("credential %s has no %s: give --officer the directory smki officer add wrote (key.pem, cert.pem, ca.pem)", dir, name)
		}
		return nil, fmt.Errorf("credential %s: %s cannot be read: %s", dir, name, durable.Reason(err))
	}
	keyPEM, err := read(KeyFile)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(CertFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := read(CAFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// crypto/tls's text ("x509: malformed certificate", "private key
		// does not match public key") names neither file.
		return nil, fmt.Errorf("credential %s: cert.pem and key.pem are not one credential (cert.pem is not the certificate of "+
			"key.pem's key, or one of them is damaged): use the files smki wrote together", dir)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("credential %s: %s holds no certificate", dir, CAFile)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}, RootCAs: pool}, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ReadCert parses dir/cert.pem (its first PEM block, a CERTIFICATE).
func ReadCert(dir string) (*x509.Certificate, error) {
	data, err := opfile.Read(CertPath(dir), opfile.MaxCertificate)
	if err != nil {
		return nil, fmt.Errorf("officer credential: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("officer credential: %s holds no certificate", CertPath(dir))
	}
	return x509.ParseCertificate(b.Bytes)
}

// ReadCAs parses every certificate of dir/ca.pem: the access root, then
// the CA certificates of an operator's served TLS chain when the RA has
// one (ownpki.AccessCA.CredentialCAPEM). It fails when ca.pem cannot be
// read, a certificate in it does not parse, or it holds none.
func ReadCAs(dir string) ([]*x509.Certificate, error) {
	data, err := opfile.Read(CAPath(dir), opfile.MaxCertificate)
	if errors.Is(err, opfile.ErrTooLarge) {
		return nil, fmt.Errorf("officer credential %s: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("officer credential %s: %s cannot be read: %s", dir, CAFile, durable.Reason(err))
	}
	var cas []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("officer credential %s: a certificate in %s is damaged", dir, CAFile)
		}
		cas = append(cas, c)
	}
	if len(cas) == 0 {
		return nil, fmt.Errorf("officer credential %s: %s holds no certificate", dir, CAFile)
	}
	return cas, nil
}

// Write writes a credential to dir (created 0700): key.pem (0600) when
// keyPEM is given, cert.pem and ca.pem (0644). It refuses to replace an
// existing cert.pem or key.pem. Without keyPEM (the appointee made the key
// and sent a CSR) a key.pem already in dir must be the certificate's key.
func Write(dir string, keyPEM, certPEM, caPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(CertPath(dir)); err == nil {
		return fmt.Errorf("%s already exists", CertPath(dir))
	}
	if len(keyPEM) > 0 {
		if err := durable.WriteNew(KeyPath(dir), keyPEM, 0o600); err != nil {
			return err
		}
	} else if have, err := os.ReadFile(KeyPath(dir)); err == nil {
		if _, err := tls.X509KeyPair(certPEM, have); err != nil {
			return fmt.Errorf("the certificate is not for the key in %s", KeyPath(dir))
		}
	}
	if err := durable.WriteNew(CertPath(dir), certPEM, 0o644); err != nil {
		return err
	}
	return durable.Replace(CAPath(dir), caPEM, 0o644)
}

// Swap moves the complete credential in staging into dir: dir's files are
// first copied to dir/previous/ (replacing an older copy), then each new
// file is renamed over the old one and staging is removed. Until the
// renames start dir is untouched; a crash during them leaves the rest of
// the new credential in staging.
func Swap(dir, staging string) error {
	for _, f := range Files {
		if err := durable.SyncFile(filepath.Join(staging, f)); err != nil {
			return err
		}
	}
	prev, err := os.MkdirTemp(dir, ".previous-")
	if err != nil {
		return err
	}
	for _, f := range Files {
		if err := copyFile(filepath.Join(dir, f), filepath.Join(prev, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(prev)
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "previous")); err != nil {
		return err
	}
	if err := os.Rename(prev, filepath.Join(dir, "previous")); err != nil {
		return err
	}
	for _, f := range Files {
		if err := os.Rename(filepath.Join(staging, f), filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	if err := durable.SyncDir(dir); err != nil {
		return err
	}
	return os.Remove(staging)
}

// copyFile copies src to dst (created, same permission bits), durably.
func copyFile(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(src) // a credential file: a few hundred bytes
	if err != nil {
		return err
	}
	return durable.WriteNew(dst, data, fi.Mode().Perm())
}

// LoadKey reads a PEM private key file: PKCS#8 ("PRIVATE KEY", what smki
// writes) or SEC 1 ("EC PRIVATE KEY"). Other blocks before the key (an
// "EC PARAMETERS" block, a certificate) are skipped; an encrypted key is
// refused by name, since smki does not ask for passphrases here.
func LoadKey(path string) (crypto.Signer, error) {
	b, err := opfile.Read(path, opfile.MaxKey)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM private key", path)
		}
		if blk.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, fmt.Errorf("%s: the private key is encrypted; give an unencrypted PKCS#8 or SEC 1 key", path)
		}
		var k any
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			// crypto/x509's and encoding/asn1's text says nothing a user can act on.
			return nil, fmt.Errorf("%s: its %s block does not parse as a private key; make a key with smki keygen", path, blk.Type)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: %T is not a signing key", path, k)
		}
		return s, nil
	}
}

// Credential is an officer's mTLS credential: what Write puts in a
// credential directory and what the RA hands out on appointment.
type Credential struct {
	KeyPEM  []byte `json:"key_pem"`
	CertPEM []byte `json:"cert_pem"`
	// CAPEM is the access root: it verifies the server's TLS certificate
	// (which the access CA issues too), so one file serves both directions;
	// when the RA serves an operator's certificate, the CA certificates
	// of its chain follow the root (ownpki.AccessCA.SetServerCAs).
	CAPEM  []byte `json:"ca_pem"`
	Serial string `json:"serial"` // lower-case hex serial of the client certificate
	// NotAfter is when the client certificate expires.
	NotAfter time.Time `json:"not_after"`
}
