package ca

import (
	"fmt"
	"io"
	"math/big"
	"strings"
)

// serialLen is the serial length of DCC's certificates: 16 octets.
const serialLen = 16

// newSerial draws a positive serial that DER-encodes in exactly 16 octets
// with a first octet in 0x10..0x7F: positive (top bit clear) and with no
// leading zero nibble, so its lower-case hex (SerialHex) is always 32
// digits and every way of printing it agrees. That keeps about 126.8 bits of
// randomness.
func newSerial(r io.Reader) (*big.Int, error) {
	var b [serialLen]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: serial: %v", ErrSigning, err)
		}
		if b[0] >= 0x10 && b[0] <= 0x7f {
			return new(big.Int).SetBytes(b[:]), nil
		}
	}
}

// SerialHex is the store's form of a serial: lower-case hex, no separators,
// no leading zeros (store.Certificate.Serial).
func SerialHex(n *big.Int) string { return n.Text(16) }

// NormaliseSerial accepts a serial as users type it (hex, any case, with or
// without ':' separators or a 0x prefix) and returns the store form. It fails
// with ErrNotFound for anything that is not a positive hex integer, since no
// certificate can have such a serial.
func NormaliseSerial(s string) (string, error) {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	c = strings.TrimPrefix(c, "0x")
	n, ok := new(big.Int).SetString(c, 16)
	if !ok || n.Sign() <= 0 || len(c) > 2*serialLen+2 {
		return "", fmt.Errorf("%w: %q is not a serial", ErrNotFound, s)
	}
	return SerialHex(n), nil
}
