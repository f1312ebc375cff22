package gbcs

import (
	"encoding/binary"
	"fmt"
)

// reader is a bounds-checked cursor over a message. Every read checks the
// remaining length first, so hostile length fields can only produce an
// error, never a panic or an allocation.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, r.off)
}

// take returns the next n bytes (aliasing the input).
func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, r.fail(fmt.Sprintf("%s: need %d bytes, have %d", what, n, r.remaining()))
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) u8(what string) (byte, error) {
	s, err := r.take(1, what)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (r *reader) u16(what string) (uint16, error) {
	s, err := r.take(2, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(s), nil
}

func (r *reader) u32(what string) (uint32, error) {
	s, err := r.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(s), nil
}

func (r *reader) u64(what string) (uint64, error) {
	s, err := r.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(s), nil
}

// expect consumes one byte that must equal want.
func (r *reader) expect(want byte, what string) error {
	at := r.off
	c, err := r.u8(what)
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("%w: %s: got 0x%02X, want 0x%02X at offset %d", ErrMalformed, what, c, want, at)
	}
	return nil
}

// length reads a DLMS (A-XDR/BER) length: one byte below 0x80, or 0x8n
// followed by n (1..3) big-endian bytes. The value is checked against the
// remaining input, so the caller can take it safely.
func (r *reader) length(what string) (int, error) {
	at := r.off
	c, err := r.u8(what)
	if err != nil {
		return 0, err
	}
	n := int(c)
	if c&0x80 != 0 {
		size := int(c & 0x7F)
		if size < 1 || size > 3 {
			return 0, fmt.Errorf("%w: %s: unsupported length form 0x%02X at offset %d", ErrMalformed, what, c, at)
		}
		s, err := r.take(size, what)
		if err != nil {
			return 0, err
		}
		n = 0
		for _, d := range s {
			n = n<<8 | int(d)
		}
	}
	if n > r.remaining() {
		return 0, fmt.Errorf("%w: %s: length %d overruns the %d bytes left at offset %d", ErrMalformed, what, n, r.remaining(), at)
	}
	return n, nil
}

// lv reads a length and then that many bytes.
func (r *reader) lv(what string) ([]byte, error) {
	n, err := r.length(what)
	if err != nil {
		return nil, err
	}
	return r.take(n, what)
}
