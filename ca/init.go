package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smallstep/certificates/cas/apiv1"
	"github.com/smallstep/certificates/cas/softcas"
	"go.step.sm/crypto/x509util"

	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// InitOptions shape the CA hierarchy Init creates. Zero fields take the
// defaults below.
type InitOptions struct {
	RootCommonName, IssuingCommonName string        // defaults "SMKI Root OCA", "SMKI Issuing OCA"
	RootValidity, IssuingValidity     time.Duration // defaults DefaultRootValidity (25y), DefaultIssuingValidity (15y)
}

// Default CA names. DCC's test issuing CA is "OU=07, CN=Z1"; smki keeps the
// shape (OU then CN, UTF8String) but not the name, so its certificates can
// never be mistaken for DCC's by issuer name and serial.
const (
	DefaultRootCommonName    = "SMKI Root OCA"
	DefaultIssuingCommonName = "SMKI Issuing OCA"
)

func (o InitOptions) withDefaults() InitOptions {
	if o.RootCommonName == "" {
		o.RootCommonName = DefaultRootCommonName
	}
	if o.IssuingCommonName == "" {
		o.IssuingCommonName = DefaultIssuingCommonName
	}
	if o.RootValidity == 0 {
		o.RootValidity = DefaultRootValidity
	}
	if o.IssuingValidity == 0 {
		o.IssuingValidity = DefaultIssuingValidity
	}
	return o
}

// Init creates the CA hierarchy in st: a Root OCA key and self-signed
// certificate (OU=00) and an Issuing OCA key and certificate (OU=07) signed
// by the root, both keys generated in the KMS (encrypted files under
// Dir/keys/ for softkms; inside the token for PKCS#11). The certificates,
// the CA state and the first ARL and ORL are recorded in one transaction.
// It fails with ErrAlreadyInitialised if st already holds a CA. The CA
// names are checked before any key is made; a failure after the keys were
// made but before that transaction was tried removes them again (key
// files, or the keys in the token), so a failed Init leaves no key behind;
// a crash there leaves only unused keys. Once the transaction has been
// tried no key is removed, whatever it answered: it may have committed.
func Init(ctx context.Context, st store.Store, cfg Config, opts InitOptions) (err error) {
	opts = opts.withDefaults()
	for _, cn := range []string{opts.RootCommonName, opts.IssuingCommonName} {
		if err := checkCommonName(cn); err != nil {
			return fmt.Errorf("%w: CA name: %w", ErrBadRequest, err)
		}
	}
	if err := st.View(ctx, func(tx store.Tx) error { return checkNotInitialised(tx) }); err != nil {
		return err
	}
	keys, err := openKeyStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer keys.close()
	// Until the transaction is tried, a failure removes the keys made so
	// far and a keys directory made for them.
	undo, made := true, []string{}
	newKeysDir := keys.kind == kindSoft && !exists(keys.keysDir())
	defer func() {
		if err != nil && undo {
			keys.discard(made, newKeysDir)
		}
	}()
	rootRef, rootSigner, err := keys.create("root")
	if err != nil {
		return err
	}
	made = append(made, rootRef)
	issRef, issSigner, err := keys.create("issuing")
	if err != nil {
		return err
	}
	made = append(made, issRef)
	l, err := newLinter(nil)
	if err != nil {
		return err
	}
	now := cfg.clock()()

	// Root: self-signed, linted before the root key signs it.
	rootTmpl, err := caCertTemplate(rootSigner.Public(), nil, role.RPRoot.OU(), opts.RootCommonName, now, opts.RootValidity, time.Time{}, 1)
	if err != nil {
		return err
	}
	if _, err := l.certificate(rootTmpl, rootSigner.Public(), nil); err != nil {
		return fmt.Errorf("root certificate: %w", err)
	}
	root, err := x509util.CreateCertificate(rootTmpl, rootTmpl, rootSigner.Public(), rootSigner)
	if err != nil {
		return fmt.Errorf("%w: signing the root: %v", ErrSigning, err)
	}

	// Issuing: linted, then signed by the root through the CAS seam.
	issTmpl, err := caCertTemplate(issSigner.Public(), root, role.RPIssuingAuthority.OU(), opts.IssuingCommonName, now, opts.IssuingValidity, root.NotAfter, 0)
	if err != nil {
		return err
	}
	lintDER, err := l.certificate(issTmpl, issSigner.Public(), root)
	if err != nil {
		return fmt.Errorf("issuing certificate: %w", err)
	}
	rootCAS, err := softcas.New(ctx, apiv1.Options{Type: apiv1.SoftCAS, CertificateChain: []*x509.Certificate{root}, Signer: rootSigner})
	if err != nil {
		return fmt.Errorf("%w: softcas: %v", ErrConfig, err)
	}
	resp, err := rootCAS.CreateCertificate(&apiv1.CreateCertificateRequest{Template: issTmpl, Lifetime: issTmpl.NotAfter.Sub(issTmpl.NotBefore)})
	if err != nil {
		return fmt.Errorf("%w: signing the issuing CA: %v", ErrSigning, err)
	}
	issuing := resp.Certificate
	if lc, err := x509.ParseCertificate(lintDER); err != nil || !sameTBS(lc, issuing) {
		return fmt.Errorf("%w: signed issuing CA differs from the linted one", ErrSigning)
	}

	c, err := newCA(st, cfg, keys, root, issuing, rootSigner, issSigner)
	if err != nil {
		return err
	}
	state := caState{Version: 1, KMS: keys.kind, RootKey: rootRef, IssuingKey: issRef,
		RootSerial: SerialHex(root.SerialNumber), IssuingSerial: SerialHex(issuing.SerialNumber)}
	stateJSON, err := json.Marshal(state)
	if err != nil {
		return err
	}
	undo = false // from here the keys may be the CA's: never removed
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := checkNotInitialised(tx); err != nil {
			return err
		}
		for _, r := range []struct {
			cert    *x509.Certificate
			profile string
		}{{root, profileRootCA}, {issuing, profileIssuingCA}} {
			rec, err := caRecord(r.cert, r.profile, now)
			if err != nil {
				return err
			}
			if err := tx.PutCertificate(rec); err != nil {
				return fmt.Errorf("%w: recording %s: %w", ErrStore, r.profile, err)
			}
		}
		if err := tx.PutMeta(metaState, stateJSON); err != nil {
			return fmt.Errorf("%w: recording CA state: %w", ErrStore, err)
		}
		if _, err := c.IssueARLTx(tx); err != nil {
			return err
		}
		if _, err := c.IssueORLTx(tx); err != nil {
			return err
		}
		_, err := tx.AppendAudit(store.AuditEntry{Time: now, Actor: "ca", Action: "ca.init", Subject: state.IssuingSerial,
			Result: "ok", Detail: fmt.Sprintf("root %s (%s), issuing %s (%s), kms %s", state.RootSerial, root.Subject, state.IssuingSerial, issuing.Subject, keys.kind)})
		return err
	})
	if err != nil {
		return err
	}
	c.log.Info("CA initialised", "root", state.RootSerial, "issuing", state.IssuingSerial, "kms", keys.kind)
	return nil
}

func checkNotInitialised(tx store.Tx) error {
	_, err := tx.GetMeta(metaState)
	switch {
	case err == nil:
		return fmt.Errorf("%w: this store already holds a CA", ErrAlreadyInitialised)
	case errors.Is(err, store.ErrNotFound):
		return nil
	default:
		return fmt.Errorf("%w: reading CA state: %w", ErrStore, err)
	}
}

// caCertTemplate renders the CA x509util template. parent nil: self-signed.
func caCertTemplate(pub crypto.PublicKey, parent *x509.Certificate, ou, cn string, now time.Time,
	validity time.Duration, limit time.Time, maxPathLen int) (*x509.Certificate, error) {
	subject, err := caSubject(ou, cn)
	if err != nil {
		return nil, fmt.Errorf("%w: CA name: %w", ErrBadRequest, err)
	}
	skid, err := publicKeyID(pub)
	if err != nil {
		return nil, err
	}
	akid := skid
	if parent != nil {
		akid = parent.SubjectKeyId
	}
	serial, err := newSerial(rand.Reader)
	if err != nil {
		return nil, err
	}
	nb, na, err := window(now, validity, 0, limit)
	if err != nil {
		return nil, err
	}
	td := x509util.NewTemplateData()
	for k, v := range map[string]any{"serial": "0x" + SerialHex(serial), "rawSubject": subject, "notBefore": nb,
		"notAfter": na, "subjectKeyId": skid, "authorityKeyId": akid, "maxPathLen": maxPathLen} {
		td.Set(k, v)
	}
	c, err := x509util.NewCertificateFromX509(&x509.Certificate{PublicKey: pub}, x509util.WithTemplate(caTemplate, td))
	if err != nil {
		return nil, fmt.Errorf("%w: CA template: %v", ErrLint, err)
	}
	return c.GetCertificate(), nil
}

func caRecord(c *x509.Certificate, profile string, now time.Time) (store.Certificate, error) {
	h, err := KeyHash(c.PublicKey)
	return store.Certificate{Serial: SerialHex(c.SerialNumber), Issuer: IssuerRoot, Profile: profile,
		KeyHash: h, NotBefore: c.NotBefore, NotAfter: c.NotAfter, IssuedAt: now,
		DER: c.Raw, Status: store.StatusGood}, err
}
