package ocsp

import (
	"crypto/sha1"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// FuzzOneRequest: oneRequest, the one piece of ASN.1 the package reads by
// hand, never panics on any input, and where it accepts a request, the
// same Request listed twice is refused (a requestList of one, and only
// one, is what it lets through).
func FuzzOneRequest(f *testing.F) {
	entry := func(serial int64) []byte {
		var b cryptobyte.Builder
		h := sha1.Sum([]byte("issuer"))
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Request
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CertID
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier([]int{1, 3, 14, 3, 2, 26})
					b.AddASN1NULL()
				})
				b.AddASN1OctetString(h[:])
				b.AddASN1OctetString(h[:])
				b.AddASN1BigInt(big.NewInt(serial))
			})
		})
		return b.BytesOrPanic()
	}
	wrap := func(entries ...[]byte) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, e := range entries {
						b.AddBytes(e)
					}
				})
			})
		})
		return b.BytesOrPanic()
	}
	f.Add(wrap(entry(1)))
	f.Add(wrap(entry(1), entry(2)))
	f.Add(wrap())
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		if !oneRequest(der) {
			return
		}
		in := cryptobyte.String(der)
		var req, tbs, list, one cryptobyte.String
		if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
			t.Fatalf("accepted %x, which is not SEQUENCE { SEQUENCE ... }", der)
		}
		tbs.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed())
		tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed())
		if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1Element(&one, cbasn1.SEQUENCE) || !list.Empty() {
			t.Fatalf("accepted %x, whose requestList is not one Request", der)
		}
		if oneRequest(wrap(one, one)) {
			t.Fatalf("the Request of %x listed twice was accepted", der)
		}
	})
}
