package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smallstep/certificates/cas/apiv1"
	"github.com/smallstep/certificates/cas/softcas"

	"github.com/smki/smki/store"
)

// Config says where the CA's keys live and what it is given from outside.
type Config struct {
	Dir        string           // data directory; softkms keys under Dir/keys/
	Passphrase []byte           // encrypts softkms PEM keys (required for softkms)
	KMS        string           // "" = softkms; otherwise a pkcs11: URI, e.g. "pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=smki?pin-value=1234"
	Clock      func() time.Time // nil = time.Now
	Logger     *slog.Logger     // nil = discard

	// ReconcileAfter is the age (by Clock, from the intent's CreatedAt) at
	// which Open and Reconcile settle an open issuance intent. Zero settles
	// every open intent, which is right only when this process is the
	// store's one writer (bbolt: the file lock). When several instances
	// share a store (PostgreSQL), a young open intent may be another
	// instance's issuance in flight: set this well above the longest
	// issuance plus the clock skew between instances
	// (DefaultReconcileAfter). Settling one too early is still safe, only
	// wasteful: Issue's final transaction refuses to record a certificate
	// whose intent is no longer open (ErrIntentSettled).
	ReconcileAfter time.Duration

	// OfflineRoot opens the CA without the Root OCA key, which may then be
	// absent from the keystore or token: the root stays at the key
	// ceremony, as SMKI expects. Everything that needs the root key
	// (issuing an ARL, so also revoking an issuing CA) fails with
	// ErrRootOffline; RefreshCRLs keeps the ORL fresh and leaves the ARL
	// to the ceremony (IssueARL there, ImportARL here), and ARLStatus says
	// when that is due. End-entity issuance and the ORL need only the
	// Issuing OCA key and are unaffected.
	OfflineRoot bool
}

// DefaultReconcileAfter is the ReconcileAfter for stores shared by
// several instances: an issuance takes milliseconds, so two minutes is
// ample for it and for clock skew between hosts.
const DefaultReconcileAfter = 2 * time.Minute

// MinLiveReconcileAge is the youngest intent Reconcile settles while the
// CA runs, whatever ReconcileAfter says: a running CA has its own
// issuances in flight, and settling one of those would fail it with
// ErrIntentSettled (safe, but a refused enrolment for nothing).
const MinLiveReconcileAge = time.Minute

func (c Config) clock() func() time.Time {
	if c.Clock == nil {
		return time.Now
	}
	return c.Clock
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Issuer names recorded in store.Certificate.Issuer and store.Intent.Issuer.
const (
	IssuerRoot    = "root"
	IssuerIssuing = "issuing-ca"
)

// metaState is the store meta key of the CA's state (JSON caState).
const metaState = "ca/state"

// caState is what Open needs to find the CA again. Key references are
// relative paths (softkms) or pkcs11: URIs without a PIN; never key material.
type caState struct {
	Version       int    `json:"version"`
	KMS           string `json:"kms"`
	RootKey       string `json:"root_key"`
	IssuingKey    string `json:"issuing_key"`
	RootSerial    string `json:"root_serial"`
	IssuingSerial string `json:"issuing_serial"`
}

// CA is an open Organisation CA. It is safe for concurrent use; Close it to
// release the KMS (PKCS#11 sessions).
type CA struct {
	st             store.Store
	writes         *store.Grouper // issuance's intent and record writes, group-committed
	clock          func() time.Time
	reconcileAfter time.Duration
	log            *slog.Logger
	keys           *KeyStore
	lint           *linter

	root, issuing   *x509.Certificate
	rootCAS, issCAS *softcas.SoftCAS // the signing seam: cas/apiv1 over the KMS signers; rootCAS nil: root offline
	issSigner       crypto.Signer    // the Issuing OCA key, for CheckKey
	selfCheck       signCheck        // which end-entity signatures are verified (selfcheck.go)
}

// CheckKey signs a random digest with the Issuing OCA key and verifies
// the signature with its certificate: whether the key backend (a PKCS#11
// token, the softkms files) can sign right now. For readiness probes.
func (c *CA) CheckKey() error {
	var digest [32]byte
	if _, err := rand.Read(digest[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrSigning, err)
	}
	sig, err := c.issSigner.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return signingFailed("with the Issuing OCA key", err)
	}
	pub, ok := c.issuing.PublicKey.(*ecdsa.PublicKey)
	if !ok || !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return fmt.Errorf("%w: the Issuing OCA key's signature does not verify with its certificate", ErrSigning)
	}
	return nil
}

// Root returns the Root OCA certificate.
func (c *CA) Root() *x509.Certificate { return c.root }

// Issuing returns the Issuing OCA certificate.
func (c *CA) Issuing() *x509.Certificate { return c.issuing }

// RootOffline reports whether the CA was opened without the Root OCA key
// (Config.OfflineRoot).
func (c *CA) RootOffline() bool { return c.rootCAS == nil }

// Close releases the KMS. The store is the caller's and stays open.
func (c *CA) Close() error { return c.keys.close() }

// newCA assembles a CA from loaded certificates and signers. A nil
// rootSigner leaves the root offline (rootCAS nil).
func newCA(st store.Store, cfg Config, keys *KeyStore, root, issuing *x509.Certificate, rootSigner, issSigner crypto.Signer) (*CA, error) {
	for _, p := range []struct {
		cert *x509.Certificate
		s    crypto.Signer
	}{{root, rootSigner}, {issuing, issSigner}} {
		if p.s == nil && p.cert == root {
			continue
		}
		pub, ok := p.cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(p.s.Public()) {
			return nil, fmt.Errorf("%w: the key of %q does not match its certificate", ErrConfig, p.cert.Subject)
		}
	}
	log := cfg.logger()
	l, err := newLinter(func(kind, name, details string) {
		log.Debug("zlint warning", "kind", kind, "lint", name, "details", details)
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	var rootCAS *softcas.SoftCAS
	if rootSigner != nil {
		if rootCAS, err = softcas.New(ctx, apiv1.Options{Type: apiv1.SoftCAS, CertificateChain: []*x509.Certificate{root}, Signer: rootSigner}); err != nil {
			return nil, fmt.Errorf("%w: softcas: %v", ErrConfig, err)
		}
	}
	issCAS, err := softcas.New(ctx, apiv1.Options{Type: apiv1.SoftCAS, CertificateChain: []*x509.Certificate{issuing, root}, Signer: issSigner})
	if err != nil {
		return nil, fmt.Errorf("%w: softcas: %v", ErrConfig, err)
	}
	if cfg.ReconcileAfter < 0 {
		return nil, fmt.Errorf("%w: ReconcileAfter %v is negative", ErrConfig, cfg.ReconcileAfter)
	}
	c := &CA{st: st, writes: store.NewGrouper(store.UpdateOf(st)), clock: cfg.clock(), reconcileAfter: cfg.ReconcileAfter, log: log, keys: keys, lint: l,
		root: root, issuing: issuing, rootCAS: rootCAS, issCAS: issCAS, issSigner: issSigner}
	c.selfCheck.all = keys == nil || keys.kind != kindSoft
	return c, nil
}

// Open loads the CA that Init created in st: its state, certificates and
// keys (checking each key matches its certificate), then reconciles
// issuance intents left open by a crash or a failed final write (see
// Reconcile). With cfg.OfflineRoot the root key is not opened at all, so
// it may be missing from the keystore or token.
func Open(ctx context.Context, st store.Store, cfg Config) (*CA, error) {
	state, root, issuing, err := loadState(ctx, st)
	if err != nil {
		return nil, err
	}
	keys, err := openKeyStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if keys.kind != state.KMS {
		keys.close()
		return nil, fmt.Errorf("%w: the CA keys are in %s, Config names %s", ErrConfig, state.KMS, keys.kind)
	}
	var rootSigner crypto.Signer // nil: the root stays offline
	if !cfg.OfflineRoot {
		if rootSigner, err = keys.signer(state.RootKey); err != nil {
			keys.close()
			return nil, err
		}
	}
	issSigner, err := keys.signer(state.IssuingKey)
	if err != nil {
		keys.close()
		return nil, err
	}
	c, err := newCA(st, cfg, keys, root, issuing, rootSigner, issSigner)
	if err != nil {
		keys.close()
		return nil, err
	}
	// At Open nothing of this process is in flight, so ReconcileAfter
	// alone decides (zero: settle everything, right for a store only this
	// process writes).
	if _, err := c.reconcile(ctx, c.reconcileAfter); err != nil {
		keys.close()
		return nil, err
	}
	return c, nil
}

// Reconcile settles the open issuance intents at least ReconcileAfter (and
// at least MinLiveReconcileAge) old and returns how many it settled. An intent whose certificate was
// recorded is marked completed; any other is marked failed and logged: its
// serial is burnt and never reused, and the certificate the signer may
// have produced was never returned to anyone, because Issue records a
// certificate only in a transaction that finds its intent still open.
// Instances sharing a store call it periodically for the intents Open
// left because they were young; calling it concurrently is safe (each
// intent changes in one transaction that re-reads it).
func (c *CA) Reconcile(ctx context.Context) (int, error) {
	return c.reconcile(ctx, max(c.reconcileAfter, MinLiveReconcileAge))
}

// reconcile settles the open intents at least minAge old (zero: all).
func (c *CA) reconcile(ctx context.Context, minAge time.Duration) (int, error) {
	type settled struct {
		in    store.Intent
		state store.IntentState
	}
	var done []settled
	err := c.st.Update(ctx, func(tx store.Tx) error {
		done = done[:0]
		open, err := tx.OpenIntents()
		if err != nil {
			return err
		}
		now := c.clock()
		for _, in := range open {
			if minAge > 0 && now.Sub(in.CreatedAt) < minAge {
				continue // possibly an issuance in flight, here or in another instance
			}
			next := store.IntentFailed
			if cert, err := tx.GetCertificate(in.Serial); err == nil && len(cert.DER) > 0 {
				next = store.IntentCompleted
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := tx.SetIntentState(in.Serial, next); err != nil {
				return err
			}
			done = append(done, settled{in, next})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w: reconciling intents: %w", ErrStore, err)
	}
	for _, d := range done {
		c.log.Warn("reconciled open issuance intent", "serial", d.in.Serial, "issuer", d.in.Issuer,
			"profile", d.in.Profile, "user_id", d.in.UserID, "created_at", d.in.CreatedAt, "state", string(d.state))
	}
	return len(done), nil
}

// sameTBS reports whether two certificates have the same to-be-signed bytes.
func sameTBS(a, b *x509.Certificate) bool {
	return bytes.Equal(a.RawTBSCertificate, b.RawTBSCertificate)
}

// Certificates returns the Root and Issuing OCA certificates of the CA
// that Init created in st, reading only: for a process that serves them
// without the CA's keys (smki repo serve).
func Certificates(ctx context.Context, st store.Store) (root, issuing *x509.Certificate, err error) {
	_, root, issuing, err = loadState(ctx, st)
	return root, issuing, err
}

// loadState reads the CA's state and its two certificates from st.
func loadState(ctx context.Context, st store.Store) (state caState, root, issuing *x509.Certificate, err error) {
	var rootDER, issDER []byte
	err = st.View(ctx, func(tx store.Tx) error {
		raw, err := tx.GetMeta(metaState)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotInitialised
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &state); err != nil {
			return fmt.Errorf("%w: CA state does not parse: %v", ErrConfig, err)
		}
		r, err := tx.GetCertificate(state.RootSerial)
		if err != nil {
			return fmt.Errorf("root certificate: %w", err)
		}
		i, err := tx.GetCertificate(state.IssuingSerial)
		if err != nil {
			return fmt.Errorf("issuing certificate: %w", err)
		}
		rootDER, issDER = r.DER, i.DER
		return nil
	})
	if errors.Is(err, ErrNotInitialised) {
		return state, nil, nil, errNoCA()
	}
	if err != nil {
		return state, nil, nil, fmt.Errorf("%w: reading CA state: %w", ErrStore, err)
	}
	if root, err = x509.ParseCertificate(rootDER); err != nil {
		return state, nil, nil, fmt.Errorf("%w: stored root certificate: %v", ErrConfig, err)
	}
	if issuing, err = x509.ParseCertificate(issDER); err != nil {
		return state, nil, nil, fmt.Errorf("%w: stored issuing certificate: %v", ErrConfig, err)
	}
	return state, root, issuing, nil
}
