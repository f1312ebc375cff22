package ra

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ErrAccessCA is the code of every failure of the RA access CA.
var ErrAccessCA = errors.New("E_RA_ACCESS_CA")

// Validity of access certificates. Officer credentials are short enough
// that a lost one ages out, long enough not to burden operators; removal
// takes effect at once regardless (the RA checks the store on each call).
const (
	accessRootValidity   = 10 * 365 * 24 * time.Hour
	accessOfficerValidty = 365 * 24 * time.Hour
	accessServerValidity = 90 * 24 * time.Hour
	accessRootKeyFile    = "access-root.key.pem"
	accessRootCertFile   = "access-root.pem"
)

// AccessCA is the RA access CA: its own ECDSA P-256 root that certifies
// officers' mTLS client credentials and the RA server's TLS certificate.
// It is deliberately separate from the SMKI Organisation CA: access to the
// RA is not an SMKI certificate, and a compromise of one must not give the
// other. Its key lives in a PEM file (mode 0600) under the data directory.
type AccessCA struct {
	key  *ecdsa.PrivateKey
	root *x509.Certificate
	now  func() time.Time
}

// OpenAccessCA loads the access CA from dir, creating it (key and
// self-signed root) if dir holds neither file. now is the clock used for
// validity periods. It refuses a directory holding only one of the two files.
func OpenAccessCA(dir string, now func() time.Time) (*AccessCA, error) {
	if now == nil {
		return nil, fmt.Errorf("%w: nil clock", ErrAccessCA)
	}
	kp, cp := filepath.Join(dir, accessRootKeyFile), filepath.Join(dir, accessRootCertFile)
	keyPEM, kerr := os.ReadFile(kp)
	certPEM, cerr := os.ReadFile(cp)
	switch {
	case kerr == nil && cerr == nil:
		return loadAccessCA(keyPEM, certPEM, now)
	case errors.Is(kerr, os.ErrNotExist) && errors.Is(cerr, os.ErrNotExist):
		return createAccessCA(dir, kp, cp, now)
	case kerr != nil && !errors.Is(kerr, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, kerr)
	case cerr != nil && !errors.Is(cerr, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, cerr)
	}
	return nil, fmt.Errorf("%w: %s holds only one of %s and %s", ErrAccessCA, dir, accessRootKeyFile, accessRootCertFile)
}

func loadAccessCA(keyPEM, certPEM []byte, now func() time.Time) (*AccessCA, error) {
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, fmt.Errorf("%w: access CA files are not PEM", ErrAccessCA)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %v", ErrAccessCA, err)
	}
	root, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: root: %v", ErrAccessCA, err)
	}
	if !key.PublicKey.Equal(root.PublicKey) {
		return nil, fmt.Errorf("%w: key does not match root certificate", ErrAccessCA)
	}
	return &AccessCA{key: key, root: root, now: now}, nil
}

func createAccessCA(dir, kp, cp string, now func() time.Time) (*AccessCA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t := now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smki RA access root", Organization: []string{raOrganisation}},
		NotBefore:             t.Add(-time.Minute),
		NotAfter:              t.Add(accessRootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	// Write the key first with O_EXCL so two processes racing to create the
	// CA cannot both win; the loser fails rather than mixing halves.
	if err := writeFileExcl(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileExcl(cp, pemCert(der), 0o644); err != nil {
		return nil, err
	}
	return &AccessCA{key: key, root: root, now: now}, nil
}

func writeFileExcl(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	return f.Close()
}

// Root returns the access root certificate.
func (a *AccessCA) Root() *x509.Certificate { return a.root }

// RootPEM returns the access root certificate as PEM.
func (a *AccessCA) RootPEM() []byte { return pemCert(a.root.Raw) }

// Pool returns a pool holding only the access root.
func (a *AccessCA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.root)
	return p
}

// Credential is an officer's mTLS credential: what the CLI writes to a
// credential directory as key.pem, cert.pem and ca.pem.
type Credential struct {
	KeyPEM  []byte `json:"key_pem"`
	CertPEM []byte `json:"cert_pem"`
	// CAPEM is the access root: it verifies the server's TLS certificate
	// (which the access CA issues too), so one file serves both directions.
	CAPEM  []byte `json:"ca_pem"`
	Serial string `json:"serial"` // lower-case hex serial of the client certificate
}

// issueOfficer issues a client certificate with CN = officer ID, OU = kind
// and O = the party ID (or "RA"), for a fresh P-256 key.
func (a *AccessCA) issueOfficer(officerID, kind, org string) (Credential, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return Credential{}, err
	}
	t := a.now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         officerID,
			OrganizationalUnit: []string{kind},
			Organization:       []string{org},
		},
		NotBefore:   t.Add(-time.Minute),
		NotAfter:    minTime(t.Add(accessOfficerValidty), a.root.NotAfter),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.root, key.Public(), a.key)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	return Credential{
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		CertPEM: pemCert(der),
		CAPEM:   a.RootPEM(),
		Serial:  serialHex(serial),
	}, nil
}

// ServerCertificate issues a fresh TLS server certificate for hosts (DNS
// names or IP addresses; localhost, 127.0.0.1 and ::1 are always included).
// It is kept in memory only: a restart issues another.
func (a *AccessCA) ServerCertificate(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	t := a.now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "smki RA server", Organization: []string{raOrganisation}},
		NotBefore:    t.Add(-time.Minute),
		NotAfter:     minTime(t.Add(accessServerValidity), a.root.NotAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.root, key.Public(), a.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: crypto.Signer(key), Leaf: leaf}, nil
}

// TLSConfig returns the server's TLS configuration: a fresh server
// certificate for hosts, TLS 1.3 only, and client certificates REQUIRED and
// verified against the access root alone.
func (a *AccessCA) TLSConfig(hosts ...string) (*tls.Config, error) {
	cert, err := a.ServerCertificate(hosts...)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    a.Pool(),
	}, nil
}

// verifyClient checks that cert chains to the access root at the clock's
// time for client authentication. The TLS layer already did this; the RA
// does it again so that a server wired with the wrong pool cannot let a
// foreign certificate through.
func (a *AccessCA) verifyClient(cert *x509.Certificate) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       a.Pool(),
		CurrentTime: a.now(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("%w: client certificate: %v", ErrUnauthenticated, err)
	}
	return nil
}

func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	b[0] &= 0x7f
	b[0] |= 0x01 // positive, full 16 octets
	return new(big.Int).SetBytes(b), nil
}

func serialHex(n *big.Int) string { return fmt.Sprintf("%x", n) }

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// WriteCredential writes c to dir as key.pem (0600), cert.pem and ca.pem,
// creating dir (0700). It refuses to overwrite an existing key.pem.
func WriteCredential(dir string, c Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	if err := writeFileExcl(filepath.Join(dir, "key.pem"), c.KeyPEM, 0o600); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"cert.pem": c.CertPEM, "ca.pem": c.CAPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("%w: %v", ErrAccessCA, err)
		}
	}
	return nil
}
