package opfile

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
)

// The cap of each kind of file an operator names. Each is far above what
// a right file holds and far below what would hurt to hold in memory.
const (
	// MaxCertificate bounds a PEM (or DER) certificate file: one
	// certificate, a chain or a CA bundle (a system bundle such as
	// /etc/ssl/certs/ca-certificates.crt is about 220 KiB; an SMKI
	// certificate under 1 KiB).
	MaxCertificate = 1 << 20
	// MaxKey bounds a key, key reference or passphrase file (a PEM
	// P-256 key is about 250 bytes).
	MaxKey = 64 << 10
	// MaxCRL bounds a CRL file: an ORL listing every revoked device
	// certificate of a failed Supplier is the largest (about 40 bytes a
	// revocation, so over a million fit).
	MaxCRL = 64 << 20
	// MaxConfig bounds smki serve --config (deploy/smki.example.yaml is a
	// few KiB).
	MaxConfig = 1 << 20
)

// ErrTooLarge is the code of a file refused for its size.
var ErrTooLarge = errors.New("E_FILE_TOO_LARGE")

// TooLargeError is the refusal of a file over its cap; errors.Is(err,
// ErrTooLarge) holds.
type TooLargeError struct {
	Path string
	Cap  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%v: %s is over %d bytes, the most smki reads from a file of its kind; check that it names the file you meant", ErrTooLarge, e.Path, e.Cap)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Read returns the contents of the file at path if it holds at most max
// bytes. A regular file over max is refused (*TooLargeError) by its size
// before anything is read; anything else (a pipe, a device) is read to at
// most max+1 bytes. An open or read failure is returned as the os package
// gave it (an *fs.PathError), for the caller to put in its words.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > max {
		return nil, &TooLargeError{Path: path, Cap: max}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Path: path, Cap: max}
	}
	return b, nil
}

// LoadX509KeyPair is tls.LoadX509KeyPair with both files read by Read:
// the certificate chain up to MaxCertificate, the key up to MaxKey.
// crypto/tls's error is returned as it is, for the caller to put in its
// words.
func LoadX509KeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := Read(certFile, MaxCertificate)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := Read(keyFile, MaxKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
