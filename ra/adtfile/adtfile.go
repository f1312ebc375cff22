// Package adtfile owns the ADT file format (docs/adt.md, smki-adt/1): its
// strict parser with size limits, and the officer's signature over the
// exact bytes (Sign, Verify). It knows nothing of the store, of who may
// submit a file or of the SC allow-list: package ra decides those when a
// file is submitted (Service.SubmitADT). It must not import ra.
package adtfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/strictjson"
)

// Errors of the format, with the RA's stable codes (package ra reports
// them under the same names, ra.ErrADTFormat and so on).
var (
	ErrFormat    = errors.New("E_RA_ADT_FORMAT")    // ADT file does not parse as smki-adt/1
	ErrSignature = errors.New("E_RA_ADT_SIGNATURE") // ADT signature missing, malformed or not the officer's
	ErrSRV       = errors.New("E_RA_ADT_SRV")       // ADT SRV malformed or not allowed for SC
	ErrThreshold = errors.New("E_RA_ADT_THRESHOLD") // ADT period not positive, or warning > quarantine
)

// Format is the format tag of an ADT file (docs/adt.md).
const Format = "smki-adt/1"

// MaxSize caps an ADT file: one SC user, one supplier, at most every
// SRV of the matrix.
const MaxSize = 32 << 10

// File is the content of an ADT file (docs/adt.md): for one SC user and
// one supplier user whose devices are in scope, warning and quarantine
// thresholds per Service Reference Variant and period.
type File struct {
	Format       string      `json:"format"`
	SCUser       string      `json:"sc_user"`
	SupplierUser string      `json:"supplier_user"`
	Thresholds   []Threshold `json:"thresholds"`
}

// Threshold: at most Quarantine accepted requests of SRV per Period
// (the next is quarantined), with a warning from the Warning-th on.
type Threshold struct {
	SRV        string          `json:"srv"`
	Period     bundle.Duration `json:"period"`
	Warning    int             `json:"warning"`
	Quarantine int             `json:"quarantine"`
}

// Parse strictly parses an ADT file: one JSON object in format
// smki-adt/1, no unknown fields, no trailing data, valid IDs, at least one
// threshold, syntactically valid SRVs without repeats, period > 0 and
// 0 <= warning <= quarantine. Eligibility against the SC allow-list and
// the users' existence are checked by the RA (SubmitADT).
func Parse(data []byte) (File, eui64.ID, eui64.ID, error) {
	var f File
	var sc, sup eui64.ID
	if len(data) > MaxSize {
		return f, sc, sup, fmt.Errorf("%w: file is %d bytes, over %d", ErrFormat, len(data), MaxSize)
	}
	// A signed file must mean one thing to the officer who read it and
	// to the RA: the one strict reader (no unknown, duplicate or
	// case-variant members, no trailing data).
	if err := strictjson.Decode(data, &f); err != nil {
		return f, sc, sup, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if f.Format != Format {
		return f, sc, sup, fmt.Errorf("%w: format %q, want %q", ErrFormat, f.Format, Format)
	}
	var err error
	if sc, err = eui64.Parse(f.SCUser); err != nil || sc.IsZero() {
		return f, sc, sup, fmt.Errorf("%w: sc_user %q is not an EUI-64", ErrFormat, f.SCUser)
	}
	if sup, err = eui64.Parse(f.SupplierUser); err != nil || sup.IsZero() {
		return f, sc, sup, fmt.Errorf("%w: supplier_user %q is not an EUI-64", ErrFormat, f.SupplierUser)
	}
	if len(f.Thresholds) == 0 {
		return f, sc, sup, fmt.Errorf("%w: no thresholds", ErrFormat)
	}
	seen := map[string]bool{}
	for i, t := range f.Thresholds {
		if !policy.ValidSRV(t.SRV) {
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d]: %q is not a Service Reference Variant", ErrSRV, i, t.SRV)
		}
		if seen[t.SRV] {
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d]: SRV %s twice", ErrSRV, i, t.SRV)
		}
		seen[t.SRV] = true
		if err := (bundle.ADTThreshold{Period: t.Period, Warning: t.Warning, Quarantine: t.Quarantine}).Check(); err != nil {
			return f, sc, sup, fmt.Errorf("%w: thresholds[%d] (%s): %v", ErrThreshold, i, t.SRV, err)
		}
	}
	return f, sc, sup, nil
}

// Sign signs file for submission with the officer's access credential
// key (an ECDSA P-256 crypto.Signer): ECDSA over SHA-256 of the exact
// bytes, ASN.1 DER, which is what `openssl dgst -sha256 -sign key.pem`
// writes.
func Sign(key crypto.Signer, file []byte) ([]byte, error) {
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the signing key is not ECDSA P-256", ErrSignature)
	}
	h := sha256.Sum256(file)
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return sig, nil
}

// Verify checks sig (DER) over file with the P-256 key of cert.
func Verify(cert *x509.Certificate, file, sig []byte) error {
	if cert == nil {
		return fmt.Errorf("%w: no officer certificate to verify against", ErrSignature)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: the officer's credential is not an ECDSA P-256 key", ErrSignature)
	}
	if len(sig) == 0 {
		return fmt.Errorf("%w: no signature", ErrSignature)
	}
	h := sha256.Sum256(file)
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		return fmt.Errorf("%w: the signature is not the submitting officer's over these bytes", ErrSignature)
	}
	return nil
}
