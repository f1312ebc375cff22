package xmldsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/smki/smki/internal/ecdsaraw"
)

// ErrSigner is returned (wrapped) when the signer or certificate cannot make
// a profile signature: not ECDSA P-256, key and certificate disagree, or the
// signer fails.
var ErrSigner = errors.New("E_XMLDSIG_SIGNER")

// SignOptions tune Sign.
type SignOptions struct {
	// IncludeCertificate adds the signer certificate as X509Certificate
	// after the X509IssuerSerial. Verifiers still chain it to their own
	// roots; it only saves a repository lookup.
	IncludeCertificate bool
}

// Sign returns data with an enveloped signature in the DUIS profile: a
// ds:Signature (prefix ds, declared on it) as the last child of the
// document element, SignedInfo with exc-c14n, ecdsa-sha256, one Reference
// URI="" with only the enveloped-signature transform (so the digest is over
// inclusive c14n, as DCC signs), sha256, a raw r||s SignatureValue, and a
// KeyInfo with X509IssuerSerial (IssuerName(cert) and the decimal serial),
// plus X509Certificate when opts.IncludeCertificate.
//
// A ds:Signature already in data (the DUIS templates carry a placeholder
// one, with a comment in it) is removed first and the new one takes its
// place; it must be the last element child of the document element.
// Comments are allowed only inside that placeholder, because the result
// must pass this package's own Parse, which rejects comments. The result is
// verified with Parse and Verify before it is returned.
func Sign(data []byte, signer crypto.Signer, cert *x509.Certificate, opts SignOptions) ([]byte, error) {
	return sign(data, signer, cert, opts, DefaultLimits())
}

// sign is Sign with the limits the document is read and checked under
// (tests sign documents as large as MaxLimits allows).
func sign(data []byte, signer crypto.Signer, cert *x509.Certificate, opts SignOptions, lim Limits) ([]byte, error) {
	if signer == nil || cert == nil {
		return nil, fmt.Errorf("%w: signer and certificate are required", ErrSigner)
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: signer key is not ECDSA P-256", ErrSigner)
	}
	if cpub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !cpub.Equal(pub) {
		return nil, fmt.Errorf("%w: certificate does not match the signer key", ErrSigner)
	}

	// 1. The document without any placeholder signature, and where the
	//    signature goes.
	doc0, at, err := stripSignature(data, lim)
	if err != nil {
		return nil, err
	}

	// 2. Digest of the document as the verifier will see it once the
	//    signature is removed again.
	sc0, err := scan(doc0, lim, false)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(sc0.out)

	// 3. The signature block with a zero SignatureValue of the right length,
	//    spliced in, so SignedInfo can be canonicalised from the real
	//    document.
	zero := base64.StdEncoding.EncodeToString(make([]byte, 64))
	block := signatureBlock(digest[:], zero, cert, opts)
	doc1 := make([]byte, 0, len(doc0)+len(block))
	doc1 = append(doc1, doc0[:at]...)
	doc1 = append(doc1, block...)
	doc1 = append(doc1, doc0[at:]...)
	d, err := Parse(doc1, lim)
	if err != nil {
		return nil, fmt.Errorf("signing produced an unparsable document: %w", err)
	}
	h := sha256.Sum256(d.signedInfoC14N())

	// 4. Sign and replace the zero value (same length, so offsets hold).
	raw, err := ecdsaraw.SignSHA256(signer, h[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	sv := base64.StdEncoding.EncodeToString(raw)
	k := at + strings.Index(block, zero)
	copy(doc1[k:], sv)

	// 5. What we sign, we verify.
	d, err = Parse(doc1, lim)
	if err == nil {
		_, _, err = d.Verify(pub)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: self-check failed: %v", ErrSigner, err)
	}
	return doc1, nil
}

// stripSignature removes a placeholder ds:Signature (at most one, the last
// element child of the document element) and returns the document and the
// offset where the new signature goes.
func stripSignature(data []byte, lim Limits) ([]byte, int, error) {
	sc, err := scan(data, lim, true)
	if err != nil {
		return nil, 0, err
	}
	toks := sc.toks
	sig := int32(-1)
	for i := range toks {
		if sc.isElem(int32(i), NamespaceDS, "Signature") {
			if sig >= 0 {
				return nil, 0, sigErr("template has more than one ds:Signature")
			}
			sig = int32(i)
		}
	}
	rootEnd := toks[0].end
	lo, hi := -1, -1
	if sig >= 0 {
		for i := toks[sig].end + 1; i < rootEnd; i++ {
			if toks[i].kind != tText || !isXMLSpace(sc.textOf(&toks[i])) {
				return nil, 0, sigErr("template ds:Signature is not the last child of the document element")
			}
		}
		depth1 := false
		for i := int32(1); i < rootEnd; i++ {
			if toks[i].kind == tStart {
				if i == sig {
					depth1 = true
					break
				}
				i = toks[i].end
			}
		}
		if !depth1 {
			return nil, 0, sigErr("template ds:Signature is nested")
		}
		lo, hi = int(toks[sig].off), int(toks[sig].endOff)
	}
	// Cut the placeholder and every comment (comments are not part of the
	// canonical form, so dropping them changes nothing signed, and Parse
	// refuses them).
	var cuts [][2]int
	if sig >= 0 {
		cuts = append(cuts, [2]int{lo, hi})
	}
	for _, cm := range sc.comments {
		if cm[0] >= lo && cm[1] <= hi {
			continue
		}
		cuts = append(cuts, cm)
	}
	slices.SortFunc(cuts, func(a, b [2]int) int { return a[0] - b[0] })
	at := lo
	if sig < 0 {
		// No placeholder: insert just before the document element's end tag.
		end := int(toks[0].endOff)
		at = strings.LastIndex(sc.s[:end], "</")
		if at < int(toks[0].off) || data[end-2] == '/' {
			return nil, 0, malformed("document element has no end tag to sign before")
		}
	}
	out := make([]byte, 0, len(data))
	prev, newAt := 0, at
	for _, c := range cuts {
		out = append(out, data[prev:c[0]]...)
		prev = c[1]
		if c[1] <= at {
			newAt -= c[1] - c[0]
		}
	}
	out = append(out, data[prev:]...)
	return out, newAt, nil
}

func signatureBlock(digest []byte, sigValue string, cert *x509.Certificate, opts SignOptions) string {
	var b strings.Builder
	b.Grow(1024)
	b.WriteString(`<ds:Signature xmlns:ds="` + NamespaceDS + `"><ds:SignedInfo>`)
	b.WriteString(`<ds:CanonicalizationMethod Algorithm="` + AlgExcC14N + `"/>`)
	b.WriteString(`<ds:SignatureMethod Algorithm="` + AlgECDSA256 + `"/>`)
	b.WriteString(`<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="` + AlgEnveloped + `"/></ds:Transforms>`)
	b.WriteString(`<ds:DigestMethod Algorithm="` + AlgSHA256 + `"/>`)
	b.WriteString(`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest) + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`)
	b.WriteString(`<ds:SignatureValue>` + sigValue + `</ds:SignatureValue>`)
	b.WriteString(`<ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>`)
	b.Write(appendText(nil, IssuerName(cert)))
	b.WriteString(`</ds:X509IssuerName><ds:X509SerialNumber>` + cert.SerialNumber.String() + `</ds:X509SerialNumber></ds:X509IssuerSerial>`)
	if opts.IncludeCertificate {
		b.WriteString(`<ds:X509Certificate>` + base64.StdEncoding.EncodeToString(cert.Raw) + `</ds:X509Certificate>`)
	}
	b.WriteString(`</ds:X509Data></ds:KeyInfo></ds:Signature>`)
	return b.String()
}
