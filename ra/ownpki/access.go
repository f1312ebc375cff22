package ownpki

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
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ra/raerr"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/durable"
)

// Credential is an officer's mTLS credential (internal/credential owns it).
type Credential = credential.Credential

// ErrAccessCA is the code of every failure of the RA access CA.
var ErrAccessCA = raerr.ErrAccessCA

// RAOrganisation is the O of the access root, of the RA server's
// certificate and of an RA officer's (not a party officer's) credential.
const RAOrganisation = "RA"

// Validity of access certificates. Officer credentials are short enough
// that a lost one ages out, long enough not to burden operators; removal
// takes effect at once regardless (the RA checks the store on each call).
const (
	accessRootValidity = 10 * 365 * 24 * time.Hour
	// OfficerValidity is how long an officer credential is valid (never
	// past the root's expiry).
	OfficerValidity      = 365 * 24 * time.Hour
	accessServerValidity = 90 * 24 * time.Hour
	accessRootCertFile   = "access-root.pem"
	accessRootKeyRef     = "access-root.key.ref" // the KMS reference of the root key
	accessRootKeyName    = "ra-access-root"      // its name in the KMS
	// accessRootPlainKey is where smki before the KMS kept the root key,
	// unencrypted; OpenAccessCA migrates it into the KMS and removes it.
	accessRootPlainKey = "access-root.key.pem"
)

// AccessCA is the RA access CA: its own ECDSA P-256 root that certifies
// officers' mTLS client credentials and the RA server's TLS certificate.
// It is deliberately separate from the SMKI Organisation CA: access to the
// RA is not an SMKI certificate, and a compromise of one must not give the
// other. Its key lives in the same key backend as the CA's keys (Keys), never
// in a plaintext file; dir holds the root certificate and the key's
// reference.
type AccessCA struct {
	key  crypto.Signer
	root *x509.Certificate
	now  func() time.Time
	// verified remembers client certificates VerifyClient found to chain
	// to root (verifiedClients).
	verified verifiedClients
	// serverCAs is PEM of the CA certificates of an operator's TLS
	// server certificate (SetServerCAs), nil when the access CA issues it.
	serverCAs atomic.Pointer[[]byte]
}

func (a *AccessCA) ownKey(dir string) ownKey {
	return ownKey{
		name:  accessRootKeyName,
		ref:   filepath.Join(dir, accessRootKeyRef),
		plain: filepath.Join(dir, accessRootPlainKey),
		code:  ErrAccessCA,
		advice: "remove the access directory " + dir + " to create a new access CA in the token " +
			"(every officer then needs a new credential: the bootstrap officers get one at start, the others from an officer who appoints them)",
	}
}

// OpenAccessCA loads the access CA from dir, creating it (a key in keys and a
// self-signed root) if dir holds neither a key nor the root certificate. now
// is the clock used for validity periods; log (nil = discard) records a
// migration. It refuses a directory holding only one of key and root.
//
// A directory written by an older smki holds the key unencrypted
// (access-root.key.pem): with softkms it is imported (encrypted with the
// CA passphrase), its reference written and the plaintext file removed;
// with PKCS#11 it is refused with ErrPlaintextKey, since a token takes only
// keys generated inside it. A key that fails to load (wrong passphrase,
// missing from the token) fails with ErrAccessCA and changes nothing.
func OpenAccessCA(dir string, keys Keys, now func() time.Time, log *slog.Logger) (*AccessCA, error) {
	if now == nil || keys == nil {
		return nil, fmt.Errorf("%w: nil clock or key store", ErrAccessCA)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &AccessCA{now: now}
	k := a.ownKey(dir)
	cp := filepath.Join(dir, accessRootCertFile)
	certPEM, cerr := opfile.Read(cp, opfile.MaxCertificate)
	if cerr != nil && !errors.Is(cerr, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, cerr)
	}
	haveKey, err := anyExists(k.ref, k.plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	switch {
	case cerr == nil && haveKey:
		cb, _ := pem.Decode(certPEM)
		if cb == nil {
			return nil, fmt.Errorf("%w: %s is not PEM", ErrAccessCA, cp)
		}
		root, err := x509.ParseCertificate(cb.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: root: %v", ErrAccessCA, err)
		}
		key, err := k.open(keys, root.PublicKey, log)
		if err != nil {
			return nil, err
		}
		a.key, a.root = key, root
		return a, nil
	case cerr != nil && !haveKey:
		return a.create(dir, k, cp, keys)
	}
	return nil, fmt.Errorf("%w: %s holds only one of the root key (%s) and %s", ErrAccessCA, dir, accessRootKeyRef, accessRootCertFile)
}

// anyExists reports whether any of paths exists.
func anyExists(paths ...string) (bool, error) {
	for _, p := range paths {
		_, err := os.Lstat(p)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

func (a *AccessCA) create(dir string, k ownKey, cp string, keys Keys) (*AccessCA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	// Claim the directory first with O_EXCL, so two processes racing to
	// create the CA cannot both win; the loser fails rather than mixing
	// halves. The reference is filled in once the key exists.
	if err := writeFileExcl(k.ref, nil, 0o600); err != nil {
		return nil, err
	}
	key, commit, err := k.create(keys)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t := a.now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smki RA access root", Organization: []string{RAOrganisation}},
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
	if err := commit(); err != nil {
		return nil, err
	}
	if err := writeFileExcl(cp, pemCert(der), 0o644); err != nil {
		return nil, err
	}
	a.key, a.root = key, root
	return a, nil
}

func writeFileExcl(path string, data []byte, mode os.FileMode) error {
	if err := durable.WriteNew(path, data, mode); err != nil {
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	return nil
}

// Root returns the access root certificate.
func (a *AccessCA) Root() *x509.Certificate { return a.root }

// RootPEM returns the access root certificate as PEM.
func (a *AccessCA) RootPEM() []byte { return pemCert(a.root.Raw) }

// SetServerCAs records the CA certificates that verify the TLS server
// certificate the RA serves when it is not the access CA's (an
// operator's, smki serve --tls-cert): every credential issued from then
// on carries them in ca.pem beside the access root, since an officer's
// client verifies the server with ca.pem alone. nil or none: the access
// root only. They never verify an officer: Pool holds the root alone.
func (a *AccessCA) SetServerCAs(cas []*x509.Certificate) {
	var b []byte
	for _, c := range cas {
		if !c.Equal(a.root) {
			b = append(b, pemCert(c.Raw)...)
		}
	}
	a.serverCAs.Store(&b)
}

// CredentialCAPEM is the ca.pem of a credential issued now: the access
// root, then the server CAs SetServerCAs recorded.
func (a *AccessCA) CredentialCAPEM() []byte {
	out := a.RootPEM()
	if extra := a.serverCAs.Load(); extra != nil {
		out = append(out, *extra...)
	}
	return out
}

// Pool returns a pool holding only the access root.
func (a *AccessCA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.root)
	return p
}

// IssueOfficer issues a client certificate with CN = officer ID, OU = kind
// and O = the party ID (or "RA"), for a fresh P-256 key that it returns in
// the Credential.
func (a *AccessCA) IssueOfficer(officerID, kind, org string) (Credential, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	cred, err := a.CertifyOfficer(officerID, kind, org, &key.PublicKey)
	if err != nil {
		return Credential{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	cred.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return cred, nil
}

// CertifyOfficer issues the officer's client certificate for pub, a key the
// RA never holds (the appointee generated it): the Credential has no key.
func (a *AccessCA) CertifyOfficer(officerID, kind, org string, pub *ecdsa.PublicKey) (Credential, error) {
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
		NotAfter:    minTime(t.Add(OfficerValidity), a.root.NotAfter),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.root, pub, a.key)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	return Credential{
		CertPEM:  pemCert(der),
		CAPEM:    a.CredentialCAPEM(),
		Serial:   serialHex(serial),
		NotAfter: tmpl.NotAfter.UTC().Truncate(time.Second), // as the certificate encodes it
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
		Subject:      pkix.Name{CommonName: "smki RA server", Organization: []string{RAOrganisation}},
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

// VerifyClient checks that cert chains to the access root at the clock's
// time for client authentication. The TLS layer already did this; the RA
// does it again so that a server wired with the wrong pool cannot let a
// foreign certificate through. The error carries no code: the caller
// decides what a refused client is (ra: E_RA_UNAUTHENTICATED).
//
// The chain's signature is verified once per certificate, not once per
// request (a keep-alive connection sends many requests with one
// certificate, and the verification, an ECDSA check, was the largest
// cost of an authenticated request): a certificate whose chain verified
// is remembered with the time window in which that answer holds (the
// overlap of its and the root's validity), and within it the next
// request only checks the clock against that window. Everything else the
// answer depends on is fixed: the root never changes in an AccessCA and
// the certificate's bytes are the cache key. Officer status and the
// current credential are checked in the store on every request (ra).
func (a *AccessCA) VerifyClient(cert *x509.Certificate) error {
	now := a.now()
	if a.verified.holds(cert, now) {
		return nil
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       a.Pool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("client certificate: %s", a.clientProblem(cert, now))
	}
	a.verified.add(cert, a.root)
	return nil
}

// clientProblem says, in smki's words (issue 14: crypto/x509's text
// reaches officers through the API, the CLI and the console), why cert
// does not verify against the access root at now.
func (a *AccessCA) clientProblem(cert *x509.Certificate, now time.Time) string {
	const layout = "2006-01-02 15:04:05 UTC"
	switch {
	case cert.CheckSignatureFrom(a.root) != nil:
		return "it is not issued by this RA's access CA; use the credential this RA issued you"
	case now.Before(cert.NotBefore):
		return "it is not valid until " + cert.NotBefore.UTC().Format(layout) + "; check the clock of the RA and of the machine that made it"
	case now.After(cert.NotAfter):
		return "it expired at " + cert.NotAfter.UTC().Format(layout) + "; ask an RA operator to reissue it (renew a credential before it expires: smki officer renew)"
	case now.Before(a.root.NotBefore) || now.After(a.root.NotAfter):
		return "this RA's access CA is not valid at " + now.UTC().Format(layout) + "; tell the RA operators"
	default:
		return "it does not verify as a client certificate of this RA's access CA (its key usage or extensions); use the credential this RA issued you"
	}
}

// maxVerifiedClients bounds verifiedClients; when full it starts again
// empty (a certificate that falls out is verified again, nothing more).
const maxVerifiedClients = 4096

// verifiedClients maps a client certificate's DER to the window in which
// its chain to the access root is valid.
type verifiedClients struct {
	mu sync.Mutex
	m  map[string]validWindow
}

type validWindow struct{ notBefore, notAfter time.Time }

// holds reports whether cert verified before and now is within its window
// (x509's own bounds: notBefore <= now <= notAfter).
func (v *verifiedClients) holds(cert *x509.Certificate, now time.Time) bool {
	v.mu.Lock()
	w, ok := v.m[string(cert.Raw)]
	v.mu.Unlock()
	return ok && !now.Before(w.notBefore) && !now.After(w.notAfter)
}

func (v *verifiedClients) add(cert, root *x509.Certificate) {
	w := validWindow{notBefore: cert.NotBefore, notAfter: cert.NotAfter}
	if root.NotBefore.After(w.notBefore) {
		w.notBefore = root.NotBefore
	}
	if root.NotAfter.Before(w.notAfter) {
		w.notAfter = root.NotAfter
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerifiedClients {
		v.m = make(map[string]validWindow)
	}
	v.m[string(cert.Raw)] = w
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

// SerialOf is how a credential names its client certificate
// (Credential.Serial): the serial in lower-case hex.
func SerialOf(cert *x509.Certificate) string { return serialHex(cert.SerialNumber) }

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// WriteCredential writes c to dir by the credential directory layout
// (credential.Write): key.pem (0600) if c has a key, cert.pem and ca.pem,
// never replacing a key or certificate already there; without a key, a
// key.pem already in dir must be the certificate's.
func WriteCredential(dir string, c Credential) error {
	if err := credential.Write(dir, c.KeyPEM, c.CertPEM, c.CAPEM); err != nil {
		return fmt.Errorf("%w: %w", ErrAccessCA, err)
	}
	return nil
}

// AccessCRLValidity is how long an access CRL is valid (its NextUpdate);
// the RA signs a new one whenever the list changes, and at least this
// often.
const AccessCRLValidity = 24 * time.Hour

// RevokedCredential is one officer credential the RA no longer accepts.
type RevokedCredential struct {
	Serial string    // lower-case hex, as SerialOf
	At     time.Time // when it was revoked
	// Reason is an RFC 5280 CRLReason: 4 (superseded) for a renewed or
	// re-issued credential, 3 (affiliationChanged) for a removed officer.
	Reason int
}

// CRL signs the access CA's CRL listing revoked at the clock's time, with
// CRL number number: the list the RA's TLS layer refuses credentials by
// (issue 12 finding 8), published for anyone else relying on the access
// CA.
func (a *AccessCA) CRL(revoked []RevokedCredential, number int64) ([]byte, error) {
	t := a.now().UTC()
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok || n.Sign() <= 0 {
			return nil, fmt.Errorf("%w: access CRL: serial %q is not positive hex", ErrAccessCA, r.Serial)
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: r.At.UTC(), ReasonCode: r.Reason})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                t.Add(-time.Minute),
		NextUpdate:                t.Add(AccessCRLValidity),
		RevokedCertificateEntries: entries,
	}, a.root, a.key)
	if err != nil {
		return nil, fmt.Errorf("%w: access CRL: %v", ErrAccessCA, err)
	}
	return der, nil
}
