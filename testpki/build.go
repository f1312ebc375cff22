package testpki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/store/bolt"
)

// Options configure Build.
type Options struct {
	// Out is the directory to write; it is created, and must be empty or
	// absent so that a scenario never mixes with an older one.
	Out string
	// At is the time the scenario is in force: the users' certificates
	// are valid from then (the CA from CABirth before, so that
	// ExpiredUser's certificate can have lived and ended), supplier-a's
	// are revoked then, the bundle is issued then, and Cases' verdicts are
	// stated for requests verified then. Zero means now (truncated to the
	// second).
	At time.Time
}

// Credential is a user's key and certificate (users/NAME/key.pem, cert.pem).
type Credential struct {
	User User
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
}

// PKI is what Build made, for tests that want it in memory as well as on
// disk (docs/testpki.md lists the files).
type PKI struct {
	Dir string    // Options.Out
	At  time.Time // Options.At, UTC, to the second
	// Root and Issuing are the Root OCA and Issuing OCA
	// (trust/root.pem, trust/issuing-ca.pem).
	Root, Issuing *x509.Certificate
	// Users are the scenario's credentials by user name (users/NAME/).
	Users map[string]*Credential
	// BundleKey and BundleCert are the RA's bundle signer, OU=89
	// (ra/bundle-key.pem, ra/bundle-cert.pem): SignBundle signs with them.
	BundleKey  *ecdsa.PrivateKey
	BundleCert *x509.Certificate
	RevokedAt  time.Time // when supplier-a's certificates were revoked: At
	// ORL and ARL are the Issuing OCA's and the root's CRLs as DER
	// (trust/orl.crl, trust/arl.crl hold them as PEM).
	ORL, ARL []byte
	Devices  []Device // the registry (devices.csv, the bundle's devices)
	// Cases are the signed requests under requests/ with the verdict
	// each must get, as cases.json states them.
	Cases *Cases
}

// ErrOutNotEmpty is returned when Options.Out already holds files.
var ErrOutNotEmpty = errors.New("E_TESTPKI_OUT_NOT_EMPTY")

// Passphrase protects the scenario CA's keys. It is a test fixture, written
// beside the keys, and never used outside a test PKI.
const Passphrase = "smki-testpki-not-secret"

// Build creates the scenario through the real CA (softkms keys, bbolt
// store under Out/ca) and writes trust/ (bundle included), users/,
// devices.csv, bundle.json, feed-page.json, requests/ and cases.json
// (docs/testpki.md). Supplier-a's certificates are revoked
// (cessationOfOperation) as of At, as a SoLR event would, in the CRLs and
// the bundle; FeedRevokedUser's (keyCompromise, as of At) in the feed
// page alone.
func Build(ctx context.Context, opts Options) (*PKI, error) {
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Second)
	if err := prepareOut(opts.Out); err != nil {
		return nil, err
	}
	p := &PKI{Dir: opts.Out, At: at, Users: map[string]*Credential{}, Devices: Devices()}

	caDir := filepath.Join(opts.Out, "ca")
	if err := durable.MkdirAll(caDir, 0o700); err != nil {
		return nil, err
	}
	if err := durable.WriteNew(filepath.Join(caDir, "passphrase"), []byte(Passphrase), 0o600); err != nil {
		return nil, err
	}
	st, err := bolt.Open(filepath.Join(caDir, "smki.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := at.Add(-CABirth)
	cfg := ca.Config{Dir: caDir, Passphrase: []byte(Passphrase), Clock: func() time.Time { return now }}
	if err := ca.Init(ctx, st, cfg, ca.InitOptions{}); err != nil {
		return nil, fmt.Errorf("testpki: ca init: %w", err)
	}
	c, err := ca.Open(ctx, st, cfg)
	if err != nil {
		return nil, fmt.Errorf("testpki: ca open: %w", err)
	}
	defer c.Close()
	p.Root, p.Issuing = c.Root(), c.Issuing()

	for _, u := range Users() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		csr, err := newCSR(key, u.Name)
		if err != nil {
			return nil, err
		}
		// Every certificate is valid from At but ExpiredUser's, which
		// starts with the CA and ends before At.
		nb, validity := at, time.Duration(0)
		if u.Name == ExpiredUser {
			nb, validity = now, CABirth-24*time.Hour
		}
		cert, _, err := c.Issue(ctx, ca.IssueRequest{CSR: csr, Profile: u.Profile, UserID: u.ID,
			PartyID: u.Party.ID, Role: u.Role, CommonName: u.Name, NotBefore: nb, Validity: validity})
		if err != nil {
			return nil, fmt.Errorf("testpki: issue %s: %w", u.Name, err)
		}
		p.Users[u.Name] = &Credential{User: u, Key: key, Cert: cert}
	}

	// The RA's bundle signer (OU=89).
	p.BundleKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	bcsr, err := newCSR(p.BundleKey, "smki-ra-bundle")
	if err != nil {
		return nil, err
	}
	if p.BundleCert, err = c.IssueSystem(ctx, bcsr, RA.ID, "smki-ra-bundle"); err != nil {
		return nil, fmt.Errorf("testpki: bundle signer: %w", err)
	}

	// Supplier-a fails: its certificates are revoked as of At, so the
	// scenario is in force from the moment it is built.
	p.RevokedAt = at
	now = p.RevokedAt
	var serials []string
	for _, cr := range p.Users {
		if cr.User.Party == SupplierA {
			serials = append(serials, fmt.Sprintf("%x", cr.Cert.SerialNumber))
		}
	}
	if _, err := c.Revoke(ctx, serials, ReasonCessationOfOperation, p.RevokedAt); err != nil {
		return nil, fmt.Errorf("testpki: revoke supplier-a: %w", err)
	}
	if p.ORL, err = c.CRL(ctx, "orl"); err != nil {
		return nil, err
	}
	if p.ARL, err = c.CRL(ctx, "arl"); err != nil {
		return nil, err
	}
	// FeedRevokedUser's certificate is revoked after the CRLs and the
	// bundle were made: only the feed page carries it (FeedPage).
	if _, err := c.Revoke(ctx, []string{fmt.Sprintf("%x", p.Users[FeedRevokedUser].Cert.SerialNumber)}, ReasonKeyCompromise, p.RevokedAt); err != nil {
		return nil, fmt.Errorf("testpki: revoke %s: %w", FeedRevokedUser, err)
	}
	if err := p.write(); err != nil {
		return nil, err
	}
	if err := p.writeBundle(); err != nil {
		return nil, err
	}
	if err := p.writeFeedPage(); err != nil {
		return nil, err
	}
	if err := p.writeCases(); err != nil {
		return nil, err
	}
	return p, nil
}

// CABirth is how long before Options.At the scenario's CA is made.
const CABirth = 72 * time.Hour

// ReasonCessationOfOperation is the RFC 5280 CRLReason for a failed Supplier.
const ReasonCessationOfOperation = 5

func prepareOut(dir string) error {
	if dir == "" {
		return fmt.Errorf("testpki: %w: no output directory", os.ErrInvalid)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return durable.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%w: %s", ErrOutNotEmpty, dir)
	}
	return nil
}

func newCSR(key *ecdsa.PrivateKey, cn string) (*x509.CertificateRequest, error) {
	_ = cn // the CA sets the subject; the CSR proves possession of the key
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificateRequest(der)
}

func (p *PKI) write() error {
	trust := filepath.Join(p.Dir, "trust")
	if err := durable.MkdirAll(trust, 0o755); err != nil {
		return err
	}
	// secret: the files holding a private key, written 0600 (the rest,
	// certificates, CRLs and the device file, 0644).
	secret := map[string]bool{}
	files := map[string][]byte{
		filepath.Join(trust, "root.pem"):       pemCert(p.Root),
		filepath.Join(trust, "issuing-ca.pem"): pemCert(p.Issuing),
		filepath.Join(trust, "orl.crl"):        pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.ORL}),
		filepath.Join(trust, "arl.crl"):        pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.ARL}),
	}
	for name, cr := range p.Users {
		kd, err := pemKey(cr.Key)
		if err != nil {
			return err
		}
		files[credential.KeyPath(filepath.Join(p.Dir, "users", name))] = kd
		secret[credential.KeyPath(filepath.Join(p.Dir, "users", name))] = true
		files[credential.CertPath(filepath.Join(p.Dir, "users", name))] = pemCert(cr.Cert)
	}
	bk, err := pemKey(p.BundleKey)
	if err != nil {
		return err
	}
	files[filepath.Join(p.Dir, "ra", "bundle-key.pem")] = bk
	secret[filepath.Join(p.Dir, "ra", "bundle-key.pem")] = true
	files[filepath.Join(p.Dir, "ra", "bundle-cert.pem")] = pemCert(p.BundleCert)

	rows := make([]devicefile.Row, 0, len(p.Devices))
	for _, d := range p.Devices {
		rows = append(rows, devicefile.Row{Device: d.ID, SupplierUser: d.Supplier, SMETS: d.SMETS, Registrations: d.registrations()})
	}
	csv, err := devicefile.Format(rows)
	if err != nil {
		return err
	}
	files[filepath.Join(p.Dir, "devices.csv")] = csv

	for path, data := range files {
		if err := durable.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if secret[path] {
			mode = 0o600
		}
		if err := durable.WriteNew(path, data, mode); err != nil {
			return err
		}
	}
	return nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func pemKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
