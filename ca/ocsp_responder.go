package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/smki/smki/store"
)

// ProfileOCSPResponder is the store profile of a delegated OCSP responder
// certificate (IssueOCSPResponder).
const ProfileOCSPResponder = "ocsp-responder"

// MaxOCSPResponderValidity bounds a delegated responder certificate's
// life. It carries id-pkix-ocsp-nocheck, so relying parties never check
// its own revocation: only a short life limits the harm of a stolen
// responder key (RFC 6960 4.2.2.2.1).
const MaxOCSPResponderValidity = 7 * 24 * time.Hour

// OIDOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1).
var OIDOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// IssueOCSPResponder issues a delegated OCSP responder certificate for pub
// (an ECDSA P-256 key) under the Issuing OCA: keyUsage digitalSignature,
// extKeyUsage id-kp-OCSPSigning, id-pkix-ocsp-nocheck, subject CN "OCSP
// responder <name>", valid from a minute ago (clock skew; not before the Issuing OCA) for validity
// (at most MaxOCSPResponderValidity, never past the Issuing OCA). It
// follows the issuance cycle (lint with the RFC 5280 lints, intent, sign,
// compare with the linted TBS, record with an audit entry): the store
// knows every responder certificate the CA signed. The certificate is not
// an Organisation Certificate, so the SMKI profile lints do not apply.
// Once the Issuing OCA has expired it fails with ErrCAExpired.
func (c *CA) IssueOCSPResponder(ctx context.Context, pub crypto.PublicKey, name string, validity time.Duration) (*x509.Certificate, error) {
	// Step 1: validate.
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: an OCSP responder key must be ECDSA P-256", ErrKeyAlgorithm)
	}
	if validity <= 0 || validity > MaxOCSPResponderValidity {
		return nil, fmt.Errorf("%w: responder validity %s is outside (0, %s]", ErrBadRequest, validity, MaxOCSPResponderValidity)
	}
	if name == "" || len(name) > 48 {
		return nil, fmt.Errorf("%w: responder name %q must be 1 to 48 characters", ErrBadRequest, name)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: responder key: %v", ErrKeyAlgorithm, err)
	}
	skid, err := KeyID(spki)
	if err != nil {
		return nil, err
	}
	now := c.clock().UTC().Truncate(time.Second)
	notBefore, notAfter := now.Add(-time.Minute), now.Add(validity)
	if notAfter.After(c.issuing.NotAfter) {
		notAfter = c.issuing.NotAfter
	}
	if notBefore.Before(c.issuing.NotBefore) {
		notBefore = c.issuing.NotBefore
	}
	if !now.Before(c.issuing.NotAfter) {
		return nil, fmt.Errorf("%w: the Issuing OCA certificate expired on %s; no OCSP responder certificate can be issued under it until a new Issuing OCA is in service",
			ErrCAExpired, c.issuing.NotAfter.UTC().Format(time.RFC3339))
	}
	if !notAfter.After(now) || now.Before(c.issuing.NotBefore) {
		return nil, fmt.Errorf("%w: the Issuing OCA is not valid for a responder certificate now", ErrBadRequest)
	}
	keyHash := sha256.Sum256(spki)
	rec := store.Certificate{Issuer: IssuerIssuing, Profile: ProfileOCSPResponder, KeyHash: hex.EncodeToString(keyHash[:]),
		NotBefore: notBefore, NotAfter: notAfter, Status: store.StatusGood}

	// Step 2: a unique serial; steps 3-5: build, lint, record the intent.
	var tmpl *x509.Certificate
	var lintDER []byte
	for attempt := 1; ; attempt++ {
		serial, err := newSerial(rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl = &x509.Certificate{
			SerialNumber:       serial,
			Subject:            pkix.Name{CommonName: "OCSP responder " + name},
			NotBefore:          notBefore,
			NotAfter:           notAfter,
			SignatureAlgorithm: x509.ECDSAWithSHA256,
			KeyUsage:           x509.KeyUsageDigitalSignature,
			ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
			SubjectKeyId:       skid,
			ExtraExtensions:    []pkix.Extension{{Id: OIDOCSPNoCheck, Value: asn1.NullBytes}},
		}
		if lintDER, err = c.lint.certificateRFC(tmpl, pub, c.issuing); err != nil {
			return nil, err
		}
		rec.Serial = SerialHex(serial)
		err = c.st.Update(ctx, func(tx store.Tx) error {
			return tx.CreateIntent(store.Intent{Serial: rec.Serial, Issuer: IssuerIssuing, Profile: rec.Profile,
				LintDER: lintDER, CreatedAt: c.clock(), State: store.IntentOpen})
		})
		if errors.Is(err, store.ErrDuplicateSerial) && attempt < maxSerialAttempts {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: recording intent %s: %w", ErrStore, rec.Serial, err)
		}
		break
	}

	// Steps 6-7: sign; the signed TBS must be the linted one.
	cert, err := c.signLinted(lintDER, nil)
	if err != nil {
		c.failIntent(ctx, rec.Serial, err)
		return nil, fmt.Errorf("%w: signing %s: %v", ErrSigning, rec.Serial, err)
	}

	// Step 8: record it, its audit entry and the intent's completion.
	rec.DER, rec.IssuedAt = cert.Raw, c.clock()
	err = c.st.Update(ctx, func(tx store.Tx) error {
		return c.recordIssuedTx(tx, rec, []store.AuditEntry{{Actor: "ca", Action: "ca.ocsp_responder.issue", Subject: rec.Serial,
			Result: "ok", Detail: fmt.Sprintf("name=%s not_after=%s", name, notAfter.Format(time.RFC3339))}}, recordTerms{}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: recording certificate %s: %w", ErrStore, rec.Serial, err)
	}
	c.log.Info("OCSP responder certificate issued", "serial", rec.Serial, "name", name, "not_after", notAfter)
	return cert, nil
}
