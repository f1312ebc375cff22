package ra

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/strictjson"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// ADTFormat is the format tag of an ADT file (docs/adt.md).
const ADTFormat = "smki-adt/1"

// MaxADTFile caps an ADT file: one SC user, one supplier, at most every
// SRV of the matrix.
const MaxADTFile = 32 << 10

// ADTFile is the content of an ADT file (docs/adt.md): for one SC user and
// one supplier user whose devices are in scope, warning and quarantine
// thresholds per Service Reference Variant and period.
type ADTFile struct {
	Format       string         `json:"format"`
	SCUser       string         `json:"sc_user"`
	SupplierUser string         `json:"supplier_user"`
	Thresholds   []ADTThreshold `json:"thresholds"`
}

// ADTThreshold: at most Quarantine accepted requests of SRV per Period
// (the next is quarantined), with a warning from the Warning-th on.
type ADTThreshold struct {
	SRV        string          `json:"srv"`
	Period     bundle.Duration `json:"period"`
	Warning    int             `json:"warning"`
	Quarantine int             `json:"quarantine"`
}

// ParseADT strictly parses an ADT file: one JSON object in format
// smki-adt/1, no unknown fields, no trailing data, valid IDs, at least one
// threshold, syntactically valid SRVs without repeats, period > 0 and
// 0 <= warning <= quarantine. Eligibility against the SC allow-list and
// the users' existence are checked by the RA (SubmitADT).
func ParseADT(data []byte) (ADTFile, eui64.ID, eui64.ID, error) {
	var f ADTFile
	var sc, sup eui64.ID
	if len(data) > MaxADTFile {
		return f, sc, sup, fmt.Errorf("%w: file is %d bytes, over %d", ErrADTFormat, len(data), MaxADTFile)
	}
	// A signed file must mean one thing to the officer who read it and
	// to the RA: the one strict reader (no unknown, duplicate or
	// case-variant members, no trailing data).
	if err := strictjson.Decode(data, &f); err != nil {
		return f, sc, sup, fmt.Errorf("%w: %v", ErrADTFormat, err)
	}
	if f.Format != ADTFormat {
		return f, sc, sup, fmt.Errorf("%w: format %q, want %q", ErrADTFormat, f.Format, ADTFormat)
	}
	var err error
	if sc, err = eui64.Parse(f.SCUser); err != nil || sc.IsZero() {
		return f, sc, sup, fmt.Errorf("%w: sc_user %q is not an EUI-64", ErrADTFormat, f.SCUser)
	}
	if sup, err = eui64.Parse(f.SupplierUser); err != nil || sup.IsZero() {
		return f, sc, sup, fmt.Errorf("%w: supplier_user %q is not an EUI-64", ErrADTFormat, f.SupplierUser)
	}
	if len(f.Thresholds) == 0 {
		return f, sc, sup, fmt.Errorf("%w: no thresholds", ErrADTFormat)
	}
	seen := map[string]bool{}
	for i, t := range f.Thresholds {
		if !policy.ValidSRV(t.SRV) {
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d]: %q is not a Service Reference Variant", ErrADTSRV, i, t.SRV)
		}
		if seen[t.SRV] {
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d]: SRV %s twice", ErrADTSRV, i, t.SRV)
		}
		seen[t.SRV] = true
		switch {
		case t.Period <= 0:
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d] (%s): period must be positive", ErrADTThreshold, i, t.SRV)
		case t.Warning < 0 || t.Quarantine < 0:
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d] (%s): thresholds must not be negative", ErrADTThreshold, i, t.SRV)
		case t.Warning > t.Quarantine:
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d] (%s): warning %d is above quarantine %d", ErrADTThreshold, i, t.SRV, t.Warning, t.Quarantine)
		}
	}
	return f, sc, sup, nil
}

// SignADT signs file for submission with the officer's access credential
// key (an ECDSA P-256 crypto.Signer): ECDSA over SHA-256 of the exact
// bytes, ASN.1 DER, which is what `openssl dgst -sha256 -sign key.pem`
// writes.
func SignADT(key crypto.Signer, file []byte) ([]byte, error) {
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the signing key is not ECDSA P-256", ErrADTSignature)
	}
	h := sha256.Sum256(file)
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrADTSignature, err)
	}
	return sig, nil
}

// verifyADTSignature checks sig (DER) over file with the P-256 key of cert.
func verifyADTSignature(cert *x509.Certificate, file, sig []byte) error {
	if cert == nil {
		return fmt.Errorf("%w: no officer certificate to verify against", ErrADTSignature)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: the officer's credential is not an ECDSA P-256 key", ErrADTSignature)
	}
	if len(sig) == 0 {
		return fmt.Errorf("%w: no signature", ErrADTSignature)
	}
	h := sha256.Sum256(file)
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		return fmt.Errorf("%w: the signature is not the submitting officer's over these bytes", ErrADTSignature)
	}
	return nil
}

// SubmitADT accepts an ADT file signed by the submitting officer (R4). The
// officer must be an SRO or ARO of the SC user's party and sig must verify
// with the key of the very access certificate that authenticated them (a
// is bound to it). The SC user must be an active SC user; the supplier
// user an existing supplier user (IS, ES, GS) of another party; every SRV
// on SC's current allow-list. A file for the same (SC user, supplier user)
// replaces the previous one. The record keeps the bytes, the signature and
// the officer's certificate.
func (s *Service) SubmitADT(ctx context.Context, a Actor, file, sig []byte) (ADTRecord, error) {
	f, sc, sup, err := ParseADT(file)
	subject := "adt"
	if err == nil {
		subject = "adt:" + adtKey(sc, sup)
	}
	if err == nil {
		err = verifyADTSignature(a.cert, file, sig)
	}
	if err != nil {
		s.refusedOf(ctx, a, ActSubmitADT, subject, err)
		return ADTRecord{}, err
	}
	sum := sha256.Sum256(file)
	var out ADTRecord
	err = s.change(ctx, a, ActSubmitADT, subject, func(tx store.Tx, me store.Officer) (string, error) {
		scUser, err := tx.GetUser(sc.String())
		if err != nil {
			if errIsNotFound(err) {
				return "", fmt.Errorf("%w: SC user %s is unknown", ErrADTUser, sc)
			}
			return "", storeErr("user "+sc.String(), err)
		}
		if err := Authorize(me, ActSubmitADT, Target{PartyID: scUser.PartyID}); err != nil {
			return "", err
		}
		if scUser.Role != string(role.SoLRContingency) || scUser.Status != store.StatusActive {
			return "", fmt.Errorf("%w: %s is a %s user (%s), not an active SC user", ErrADTUser, sc, scUser.Role, scUser.Status)
		}
		supUser, err := tx.GetUser(sup.String())
		if err != nil {
			if errIsNotFound(err) {
				return "", fmt.Errorf("%w: supplier user %s is unknown", ErrADTUser, sup)
			}
			return "", storeErr("user "+sup.String(), err)
		}
		if !isSupplierRole(supUser.Role) || supUser.PartyID == scUser.PartyID {
			return "", fmt.Errorf("%w: %s (%s) is not a supplier user of another party", ErrADTUser, sup, supUser.Role)
		}
		allowed, _, err := allowListTx(tx, role.SoLRContingency)
		if err != nil {
			return "", err
		}
		for _, t := range f.Thresholds {
			if !containsStr(allowed, t.SRV) {
				return "", fmt.Errorf("%w: SC may not send SRV %s (allow-list %v)", ErrADTSRV, t.SRV, allowed)
			}
		}
		out = ADTRecord{SCUser: sc, SupplierUser: sup, Thresholds: f.Thresholds, SubmittedBy: me.ID,
			SubmittedAt: s.now().UTC(), SHA256: hex.EncodeToString(sum[:]), File: file, Signature: sig, SignerCert: a.cert.Raw}
		if err := putJSON(tx, kindADT, adtKey(sc, sup), out); err != nil {
			return "", err
		}
		return fmt.Sprintf("sc_user=%s supplier_user=%s srvs=%d sha256=%s", sc, sup, len(f.Thresholds), out.SHA256), nil
	})
	if err != nil {
		return ADTRecord{}, err
	}
	return out, nil
}

// ListADT returns the accepted ADT files (without their bytes): all of
// them to RA officers, those of the caller's party's SC users to its SROs
// and AROs.
func (s *Service) ListADT(ctx context.Context, a Actor) ([]ADTRecord, error) {
	var out []ADTRecord
	err := s.read(ctx, a, ActReadADT, "adt", func(tx store.Tx, me store.Officer) error {
		pid := ""
		if !IsRAKind(me.Kind) {
			pid = me.PartyID
		}
		if err := Authorize(me, ActReadADT, Target{PartyID: pid}); err != nil {
			return err
		}
		all, err := listJSON[ADTRecord](tx, kindADT)
		if err != nil {
			return err
		}
		out = []ADTRecord{}
		for _, r := range all {
			if pid != "" {
				u, err := tx.GetUser(r.SCUser.String())
				if err != nil || u.PartyID != pid {
					continue
				}
			}
			r.File, r.Signature, r.SignerCert = nil, nil, nil
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// adtScope converts a record to the bundle's form.
func adtScope(r ADTRecord) bundle.ADTScope {
	sc := bundle.ADTScope{SCUser: r.SCUser, SupplierUser: r.SupplierUser, SRVs: map[string]bundle.ADTThreshold{}}
	for _, t := range r.Thresholds {
		sc.SRVs[t.SRV] = bundle.ADTThreshold{Period: t.Period, Warning: t.Warning, Quarantine: t.Quarantine}
	}
	return sc
}
