package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier/xmldsig"
)

// certKey finds a certificate by issuer and serial, the way KeyInfo
// X509IssuerSerial and revocation entries name it.
type certKey struct {
	issuer string // dnKey of the issuer name
	serial string // lower-case hex of the serial
}

func keyOf(c *x509.Certificate) certKey {
	return certKey{issuer: dnKeyFromName(c.Issuer), serial: c.SerialNumber.Text(16)}
}

// repoEntry is a certificate of the repository with its fingerprint, the
// key of the chain cache.
type repoEntry struct {
	cert    *x509.Certificate
	fp      [32]byte
	fromMsg bool // from the request's KeyInfo, not the repository
}

// repository is the verifier's certificate repository: the bundle's
// certificates and the configured roots and intermediates, by issuer and
// serial. A certificate that arrives in KeyInfo is never added to it.
type repository map[certKey][]repoEntry

func (r repository) add(c *x509.Certificate) {
	k := keyOf(c)
	fp := sha256.Sum256(c.Raw)
	for _, e := range r[k] {
		if e.fp == fp {
			return
		}
	}
	r[k] = append(r[k], repoEntry{cert: c, fp: fp})
}

// writtenIndex maps the X509IssuerSerial text that smki's and DCC's
// signers write for a certificate (xmldsig.IssuerName, NUL, the decimal
// serial) to the repository's entries under that certificate's key, all of
// them, so that an ambiguous key stays ambiguous. It is the request path's
// fast lookup: an exact match costs no name parsing and no allocation; any
// other spelling falls back to the normalised key.
type writtenIndex map[string][]repoEntry

func (r repository) written() writtenIndex {
	w := make(writtenIndex, len(r))
	for k, es := range r {
		for _, e := range es {
			name := xmldsig.IssuerName(e.cert)
			// Only where the slow path would find the same key: the fast
			// path must never accept a spelling the slow one refuses.
			if ik, err := dnKeyFromString(name); err != nil || ik != k.issuer {
				continue
			}
			w[string(appendWrittenKey(nil, name, e.cert.SerialNumber.String()))] = es
		}
	}
	return w
}

func appendWrittenKey(b []byte, issuer, serial string) []byte {
	b = append(b, issuer...)
	b = append(b, 0)
	return append(b, serial...)
}

// lookup returns the entries for an X509IssuerSerial as written.
func (w writtenIndex) lookup(issuer, serial string) ([]repoEntry, bool) {
	var buf [256]byte
	es, ok := w[string(appendWrittenKey(buf[:0], issuer, serial))]
	return es, ok
}

// trustAnchors are the static trust inputs of a Verifier.
type trustAnchors struct {
	roots, inter *x509.CertPool
	cas          []*x509.Certificate // roots and intermediates, for CRL issuers
	rootSet      map[[32]byte]bool
}

func newTrustAnchors(roots, inter []*x509.Certificate) (*trustAnchors, error) {
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no trusted roots", ErrConfig)
	}
	for _, set := range []struct {
		name  string
		certs []*x509.Certificate
	}{{"Roots", roots}, {"Intermediates", inter}} {
		for i, c := range set.certs {
			switch {
			case c == nil:
				return nil, fmt.Errorf("%w: %s[%d] is nil (a certificate that did not parse?)", ErrConfig, set.name, i)
			case !c.IsCA:
				return nil, fmt.Errorf("%w: %s[%d] (%s) is not a CA certificate: give the Root OCA and the Issuing OCA, not a signer's certificate",
					ErrConfig, set.name, i, c.Subject)
			}
		}
	}
	t := &trustAnchors{roots: x509.NewCertPool(), inter: x509.NewCertPool(), rootSet: map[[32]byte]bool{}}
	for _, c := range roots {
		t.roots.AddCert(c)
		t.rootSet[sha256.Sum256(c.Raw)] = true
	}
	for _, c := range inter {
		t.inter.AddCert(c)
	}
	t.cas = append(append(t.cas, roots...), inter...)
	return t, nil
}

// chainResult is what the chain cache keeps for a signer certificate that
// passed every time-independent check.
type chainResult struct {
	pub       *ecdsa.PublicKey
	notBefore time.Time // latest NotBefore along the chain
	notAfter  time.Time // earliest NotAfter along the chain
	issued    time.Time // the leaf's own NotBefore (party-wide revocation)
	uid       eui64.ID
	roles     []role.UserRole
	chain     []certKey // leaf first, root excluded: what revocation covers
}

// certError is a CERT rejection with its reason.
type certError struct{ reason string }

func (e *certError) Error() string { return e.reason }

func certErr(format string, a ...any) error { return &certError{fmt.Sprintf(format, a...)} }

// checkSigner runs the CERT checks on leaf at time at: chain to a configured
// root (intermediates from the trust configuration and the repository),
// validity at at, P-256 key, keyUsage digitalSignature, OU=87 (xmlSign),
// an x500UniqueIdentifier and a role binding.
func checkSigner(leaf *x509.Certificate, ta *trustAnchors, extraInter *x509.CertPool, at time.Time) (*chainResult, error) {
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, certErr("signer key is not ECDSA P-256")
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, certErr("signer certificate lacks keyUsage digitalSignature")
	}
	if len(leaf.Subject.OrganizationalUnit) != 1 || leaf.Subject.OrganizationalUnit[0] != role.RPXMLSign.OU() {
		return nil, certErr("signer OU %v is not %s (xmlSign)", leaf.Subject.OrganizationalUnit, role.RPXMLSign.OU())
	}
	if leaf.IsCA {
		return nil, certErr("signer certificate is a CA")
	}
	uid, err := uniqueID(leaf)
	if err != nil {
		return nil, certErr("signer certificate: %v", err)
	}
	roles, err := role.FromCertificate(leaf)
	if err != nil {
		return nil, certErr("signer certificate's role binding: %s", detail(err))
	}
	inter := ta.inter
	if extraInter != nil {
		inter = extraInter
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: ta.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		// x509's text stays out of the reason (it is Go's, "x509: ...").
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil {
			return nil, certErr("signer chain not valid at %s: certificate %q is valid from %s to %s", at.UTC().Format(time.RFC3339),
				inv.Cert.Subject.CommonName, inv.Cert.NotBefore.UTC().Format(time.RFC3339), inv.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return nil, certErr("signer does not chain to a trusted root (no configured CA issued it, its issuer's signature on it does not verify, or a CA in its chain may not issue it)")
	}
	res := &chainResult{pub: pub, uid: uid, roles: roles, notBefore: leaf.NotBefore, notAfter: leaf.NotAfter, issued: leaf.NotBefore}
	for _, c := range chains[0] {
		if c.NotBefore.After(res.notBefore) {
			res.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(res.notAfter) {
			res.notAfter = c.NotAfter
		}
		if !ta.rootSet[sha256.Sum256(c.Raw)] {
			res.chain = append(res.chain, keyOf(c))
		}
	}
	return res, nil
}

// validAt reports whether the cached chain is valid at at.
func (r *chainResult) validAt(at time.Time) bool {
	return !at.Before(r.notBefore) && !at.After(r.notAfter)
}

// crlSet is the verified content of the configured CRLs.
type crlSet struct {
	revoked    map[certKey]time.Time
	nextUpdate time.Time // earliest NextUpdate of held; zero when there are no CRLs
	held       []heldCRL // each issuer's newest CRL (highest number), in the order given
}

// heldCRL is what readiness says of one CRL the verifier holds: which it
// is and when it is graded (internal/crlfresh).
type heldCRL struct {
	name                   string // "CRL of <issuer CN> number <n>"
	thisUpdate, nextUpdate time.Time
	number                 *big.Int
}

// loadCRLs parses every CRL, verifies its signature against its issuer
// among the trusted roots and intermediates (an intermediate must itself
// chain to a root), and indexes its entries. A CRL that cannot be verified
// is a configuration error: silently ignoring it would fail open.
func loadCRLs(ders [][]byte, ta *trustAnchors) (*crlSet, error) {
	s := &crlSet{revoked: map[certKey]time.Time{}}
	latest := map[string]int{} // issuer -> its newest CRL in s.held
	for i, der := range ders {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("%w: CRL %d: %v", ErrConfig, i, err)
		}
		issuer, err := crlIssuer(crl, ta)
		if err != nil {
			return nil, fmt.Errorf("%w: CRL %d: %v", ErrConfig, i, err)
		}
		if crl.NextUpdate.IsZero() {
			return nil, fmt.Errorf("%w: CRL %d has no nextUpdate", ErrConfig, i)
		}
		// A CRL's dates are in force until a newer CRL of the same issuer
		// (a higher number) supersedes it, as AddCRL's current ORL does an
		// expired one; the revocations of both stay merged (below). Two
		// with one number: the earlier nextUpdate holds (fail closed).
		ik := dnKeyFromName(issuer.Subject)
		number := new(big.Int)
		if crl.Number != nil {
			number = crl.Number
		}
		name := "CRL of " + issuer.Subject.CommonName + " number " + number.String()
		h := heldCRL{name: name, thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate, number: number}
		if j, ok := latest[ik]; !ok {
			latest[ik] = len(s.held)
			s.held = append(s.held, h)
		} else if c := number.Cmp(s.held[j].number); c > 0 || c == 0 && h.nextUpdate.Before(s.held[j].nextUpdate) {
			s.held[j] = h // newer; of two with one number, the earlier nextUpdate (fail closed)
		}
		for _, e := range crl.RevokedCertificateEntries {
			k := certKey{issuer: ik, serial: e.SerialNumber.Text(16)}
			if t, ok := s.revoked[k]; !ok || e.RevocationTime.Before(t) {
				s.revoked[k] = e.RevocationTime
			}
		}
	}
	for _, h := range s.held {
		if s.nextUpdate.IsZero() || h.nextUpdate.Before(s.nextUpdate) {
			s.nextUpdate = h.nextUpdate
		}
	}
	return s, nil
}

// supersede is held with der added: der replaces the CRLs of its issuer
// with a lower CRL number; a CRL the same as one held, or older than one
// of its issuer held, leaves held as it is (changed false). der must
// parse and verify against a trusted CA (ErrConfig otherwise); the CRLs
// held were checked when they were added.
func supersede(held [][]byte, der []byte, ta *trustAnchors) ([][]byte, bool, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, false, fmt.Errorf("%w: CRL: %v", ErrConfig, err)
	}
	if _, err := crlIssuer(crl, ta); err != nil {
		return nil, false, fmt.Errorf("%w: CRL: %v", ErrConfig, err)
	}
	number := crlNumber(crl)
	out := make([][]byte, 0, len(held)+1)
	for _, h := range held {
		if bytes.Equal(h, der) {
			return held, false, nil
		}
		old, err := x509.ParseRevocationList(h)
		if err != nil || !bytes.Equal(old.RawIssuer, crl.RawIssuer) {
			out = append(out, h)
			continue
		}
		switch crlNumber(old).Cmp(number) {
		case 1:
			return held, false, nil // a newer one of this issuer is held
		case 0:
			out = append(out, h) // one number twice: both held, the earlier nextUpdate rules (loadCRLs)
		}
		// lower: superseded by der, dropped
	}
	return append(out, der), true, nil
}

// crlNumber is crl's CRL number, 0 when it has none.
func crlNumber(crl *x509.RevocationList) *big.Int {
	if crl.Number == nil {
		return new(big.Int)
	}
	return crl.Number
}

func crlIssuer(crl *x509.RevocationList, ta *trustAnchors) (*x509.Certificate, error) {
	for _, c := range ta.cas {
		if !bytes.Equal(c.RawSubject, crl.RawIssuer) {
			continue
		}
		if err := crl.CheckSignatureFrom(c); err != nil {
			continue
		}
		if !ta.rootSet[sha256.Sum256(c.Raw)] {
			if _, err := c.Verify(x509.VerifyOptions{Roots: ta.roots, Intermediates: ta.inter,
				CurrentTime: crl.ThisUpdate, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				continue
			}
		}
		return c, nil
	}
	return nil, errors.New("issuer not among the trusted CAs, or signature invalid")
}

// revokedKeys indexes revocation entries of the bundle or the feed.
func addRevoked(m map[certKey]time.Time, list []bundle.RevokedCert) error {
	// Entries come in runs of one issuer: parse its DN once per run.
	var lastIssuer string
	var ik string
	for i := range list {
		r := &list[i]
		if i == 0 || r.Issuer != lastIssuer {
			var err error
			if ik, err = dnKeyFromString(r.Issuer); err != nil {
				return fmt.Errorf("revoked issuer %q: %v", r.Issuer, err)
			}
			lastIssuer = r.Issuer
		}
		n, err := r.SerialNumber()
		if err != nil {
			return err
		}
		k := certKey{issuer: ik, serial: n.Text(16)}
		if t, ok := m[k]; !ok || r.RevokedAt.Before(t) {
			m[k] = r.RevokedAt
		}
	}
	return nil
}

// serialKey is the repository key of an IssuerSerial from KeyInfo.
func serialKey(is *xmldsig.IssuerSerial) (certKey, error) {
	ik, err := dnKeyFromString(is.IssuerName)
	if err != nil {
		return certKey{}, err
	}
	return certKey{issuer: ik, serial: is.SerialNumber().Text(16)}, nil
}
