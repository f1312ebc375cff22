package ca

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The CRL encoder. A CRL is assembled from DER pieces, not marshalled from
// a template: each revokedCertificates entry is encoded once, and an ORL
// that adds revocations to the previous one reuses the previous entries'
// bytes as they are, so reissuing a 100,000-entry ORL after a bulk
// revocation encodes only what is new. The bytes are those
// x509.CreateRevocationList writes for the same content (entries in the
// given order); TestCRLEncodingMatchesCreateRevocationList holds it so.

// crlEntry is one revoked certificate as a CRL lists it.
type crlEntry struct {
	serial string // lower-case hex, as the store keeps it
	at     time.Time
	reason int // 0 (unspecified) is left out, as RFC 5280 5.3.1 asks
}

var oidReasonCode = asn1.ObjectIdentifier{2, 5, 29, 21}

// appendCRLEntries appends the DER of each entry (a revokedCertificates
// element) to dst.
func appendCRLEntries(dst []byte, entries []crlEntry) ([]byte, error) {
	all, _, err := encodeCRLEntries(dst, entries, false)
	return all, err
}

// encodeCRLEntries appends the DER of each entry to dst and, if sample,
// also returns the DER of the first entry of each distinct tail: the
// bytes after the serial number (revocationDate and crlEntryExtensions,
// a function of the time and reason alone). An entry is
// SEQUENCE { INTEGER serial, tail }; the tail is encoded once per run of
// equal times and reasons, and the serial straight from its hex, so that
// a party's 100,000 entries cost little more than copying them.
func encodeCRLEntries(dst []byte, entries []crlEntry, sample bool) (all, samples []byte, _ error) {
	var tail []byte
	var tailAt time.Time
	tailReason := -1
	seen := map[string]bool{}
	var serial [24]byte
	for _, e := range entries {
		if e.serial == "" || e.at.IsZero() {
			return nil, nil, errors.New("CRL entry without serial or revocation time")
		}
		newTail := tail == nil || e.reason != tailReason || !e.at.Equal(tailAt)
		if newTail {
			var err error
			if tail, err = crlEntryTail(e.at, e.reason); err != nil {
				return nil, nil, err
			}
			tailAt, tailReason = e.at, e.reason
		}
		n, err := derIntegerHex(serial[:0], e.serial)
		if err != nil {
			return nil, nil, err
		}
		start := len(dst)
		dst = append(dst, 0x30)
		dst = appendDERLength(dst, len(n)+len(tail))
		dst = append(dst, n...)
		dst = append(dst, tail...)
		if sample && newTail && !seen[string(tail)] {
			seen[string(tail)] = true
			samples = append(samples, dst[start:]...)
		}
	}
	return dst, samples, nil
}

// crlEntryTail is the DER of an entry after its serial: revocationDate
// and, unless reason is 0, crlEntryExtensions with the reasonCode.
func crlEntryTail(at time.Time, reason int) ([]byte, error) {
	var b cryptobyte.Builder
	addTime(&b, at)
	if reason != 0 {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // crlEntryExtensions
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidReasonCode)
				b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
					b.AddASN1Enum(int64(reason))
				})
			})
		})
	}
	return b.Bytes()
}

// derIntegerHex appends the DER INTEGER (tag, length, minimal two's
// complement contents) of the non-negative number written in hex h, as
// cryptobyte's AddASN1BigInt writes it.
func derIntegerHex(dst []byte, h string) ([]byte, error) {
	for len(h) > 1 && h[0] == '0' {
		h = h[1:]
	}
	if h == "" || len(h) > 40 {
		return nil, fmt.Errorf("CRL entry serial %q is not 1 to 20 octets of hex", h)
	}
	var mag [21]byte // mag[0]: the 0x00 that keeps a high first bit positive
	n := (len(h) + 1) / 2
	for i := len(h) - 1; i >= 0; i-- {
		v, ok := hexNibble(h[i])
		if !ok {
			return nil, fmt.Errorf("CRL entry serial %q is not hex", h)
		}
		d := len(h) - 1 - i // nibble index from the right
		mag[n-d/2] |= v << (4 * (d % 2))
	}
	c := mag[1 : n+1]
	if c[0]&0x80 != 0 {
		c = mag[:n+1]
	}
	dst = append(dst, 0x02, byte(len(c)))
	return append(dst, c...), nil
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendDERLength appends a DER length (short form below 128).
func appendDERLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
}

// addTime writes t as RFC 5280 4.1.2.5 (and encoding/asn1) do: UTCTime
// for 1950-2049, GeneralizedTime otherwise, in UTC to the second.
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if y := t.Year(); y < 1950 || y >= 2050 {
		b.AddASN1GeneralizedTime(t)
		return
	}
	b.AddASN1UTCTime(t)
}

var (
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
)

// crlTBS builds a v2 TBSCertList signed with ecdsa-with-SHA256 by issuer
// (its subject and key identifier), listing entriesDER (the concatenated
// DER of revokedCertificates elements; empty: the field is absent), with
// the authorityKeyIdentifier and cRLNumber extensions.
func crlTBS(issuer *x509.Certificate, number *big.Int, thisUpdate, nextUpdate time.Time, entriesDER []byte) ([]byte, error) {
	if len(issuer.SubjectKeyId) == 0 {
		return nil, errors.New("the CRL issuer has no subject key identifier")
	}
	if nb := number.Bytes(); number.Sign() < 0 || len(nb) > 20 || len(nb) == 20 && nb[0]&0x80 != 0 {
		return nil, errors.New("CRL number exceeds 20 octets")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // v2
		b.AddBytes(ecdsaWithSHA256AlgID)
		b.AddBytes(issuer.RawSubject)
		addTime(b, thisUpdate)
		addTime(b, nextUpdate)
		if len(entriesDER) > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(entriesDER) })
		}
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidAuthorityKeyID)
					b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(issuer.SubjectKeyId) })
						})
					})
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidCRLNumber)
					b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddASN1BigInt(number) })
				})
			})
		})
	})
	return b.Bytes()
}

// signedDER wraps a TBS and its ecdsa-with-SHA256 signature into the
// signed structure (Certificate or CertificateList: both are
// SEQUENCE { tbs, signatureAlgorithm, signatureValue }).
func signedDER(tbs, sig []byte) ([]byte, error) {
	// One allocation: the outer header, the algorithm and the BIT STRING
	// around the signature add under 32 bytes (a 100,000-entry ORL's
	// length needs 4 octets).
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(ecdsaWithSHA256AlgID)+len(sig)+32))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(ecdsaWithSHA256AlgID)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}

// crlEntriesDER returns the concatenated DER of a CRL's revokedCertificates
// elements (empty if the field is absent), without parsing them.
func crlEntriesDER(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var list, tbs cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !in.Empty() || !list.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("CRL is not DER")
	}
	var skip cryptobyte.String
	if tbs.PeekASN1Tag(cbasn1.INTEGER) && !tbs.ReadASN1(&skip, cbasn1.INTEGER) { // version
		return nil, errors.New("CRL version is not DER")
	}
	if !tbs.ReadASN1(&skip, cbasn1.SEQUENCE) { // signature
		return nil, errors.New("CRL signature algorithm is not DER")
	}
	if !tbs.ReadASN1(&skip, cbasn1.SEQUENCE) { // issuer
		return nil, errors.New("CRL issuer is not DER")
	}
	for i := 0; i < 2; i++ { // thisUpdate, nextUpdate (optional)
		switch {
		case tbs.PeekASN1Tag(cbasn1.UTCTime):
			tbs.ReadASN1(&skip, cbasn1.UTCTime)
		case tbs.PeekASN1Tag(cbasn1.GeneralizedTime):
			tbs.ReadASN1(&skip, cbasn1.GeneralizedTime)
		case i == 0:
			return nil, errors.New("CRL thisUpdate is not a time")
		}
	}
	if !tbs.PeekASN1Tag(cbasn1.SEQUENCE) {
		return nil, nil
	}
	var entries cryptobyte.String
	if !tbs.ReadASN1(&entries, cbasn1.SEQUENCE) {
		return nil, errors.New("CRL revokedCertificates is not DER")
	}
	return entries, nil
}

// splitSigned returns the TBS and the signature of a signed structure
// whose signatureAlgorithm is ecdsa-with-SHA256.
func splitSigned(der []byte) (tbs, sig []byte, err error) {
	in := cryptobyte.String(der)
	var outer, t, alg cryptobyte.String
	var bits asn1.BitString
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !in.Empty() || !outer.ReadASN1Element(&t, cbasn1.SEQUENCE) ||
		!outer.ReadASN1Element(&alg, cbasn1.SEQUENCE) || !outer.ReadASN1BitString(&bits) || !outer.Empty() {
		return nil, nil, errors.New("not DER")
	}
	if string(alg) != string(ecdsaWithSHA256AlgID) || bits.BitLength%8 != 0 {
		return nil, nil, fmt.Errorf("signature is not ecdsa-with-SHA256")
	}
	return t, bits.Bytes, nil
}
