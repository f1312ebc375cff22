package ecdsaraw

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func sigDER(r, s *big.Int, trailing ...byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return append(b.BytesOrPanic(), trailing...)
}

// TestFromDERVerifies: a real signature converts to r||s that verifies.
func TestFromDERVerifies(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("payload"))
	for range 20 { // some signatures have short r or s: padding is exercised
		der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		raw, err := FromDER(der)
		if err != nil || len(raw) != Size {
			t.Fatalf("FromDER: %d bytes, %v", len(raw), err)
		}
		r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
		if !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
			t.Fatal("converted signature does not verify")
		}
	}
}

func TestFromDERRefuses(t *testing.T) {
	t.Parallel()
	one := big.NewInt(1)
	big33 := new(big.Int).Lsh(one, 8*32) // 33 bytes
	for _, tc := range []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"not a sequence", []byte{0x02, 0x01, 0x01}},
		{"trailing data", sigDER(one, one, 0x00)},
		{"zero r", sigDER(big.NewInt(0), one)},
		{"negative s", sigDER(one, big.NewInt(-5))},
		{"r too long", sigDER(big33, one)},
	} {
		if raw, err := FromDER(tc.der); err == nil {
			t.Errorf("%s: accepted as %x", tc.name, raw)
		}
	}
	small, err := FromDER(sigDER(one, big.NewInt(2)))
	if err != nil || small[31] != 1 || small[63] != 2 || small[0] != 0 {
		t.Errorf("small components: %x, %v", small, err)
	}
}

// TestSignSHA256: a signature made through the crypto.Signer interface
// verifies as raw r||s; a signer's failure is returned.
func TestSignSHA256(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signed info"))
	raw, err := SignSHA256(key, digest[:])
	if err != nil || len(raw) != Size {
		t.Fatalf("SignSHA256: %d bytes, %v", len(raw), err)
	}
	if !ecdsa.Verify(&key.PublicKey, digest[:], new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])) {
		t.Fatal("signature does not verify")
	}
	if _, err := SignSHA256(failingSigner{key}, digest[:]); err == nil {
		t.Fatal("a failing signer's error was lost")
	}
}

type failingSigner struct{ *ecdsa.PrivateKey }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("token removed")
}
