package xmldsig

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decode resolves the five predefined entities and character references in
// raw, normalises line ends (CR LF and lone CR become LF), and in attribute
// values (attr) turns each literal whitespace character into a space, as an
// XML processor does for CDATA-typed attributes (there is no DTD, so every
// attribute is CDATA). Characters produced by references are kept as they
// are. Any other '&' is ErrMalformed: there is no DTD, so no other entity
// can exist, and refusing them is what makes entity bombs impossible.
func decode(raw string, attr bool) (string, error) {
	if !needsDecode(raw, attr) {
		return raw, nil
	}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&':
			semi := strings.IndexByte(raw[i+1:], ';')
			if semi < 0 || semi > 12 {
				return "", malformed("bad entity reference")
			}
			name := raw[i+1 : i+1+semi]
			i += semi + 1
			switch name {
			case "lt":
				b = append(b, '<')
			case "gt":
				b = append(b, '>')
			case "amp":
				b = append(b, '&')
			case "quot":
				b = append(b, '"')
			case "apos":
				b = append(b, '\'')
			default:
				r, ok := charRef(name)
				if !ok {
					return "", malformed("entity reference &%s; (only predefined entities and character references)", name)
				}
				b = utf8.AppendRune(b, r)
			}
		case c == '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			if attr {
				b = append(b, ' ')
			} else {
				b = append(b, '\n')
			}
		case attr && (c == '\t' || c == '\n'):
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

// charRef parses the inside of &#...; and checks the result is an XML Char.
func charRef(name string) (rune, bool) {
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	digits, base := name[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, false
	}
	r := rune(v)
	switch {
	case r == 0x9, r == 0xA, r == 0xD:
	case r >= 0x20 && r <= 0xD7FF:
	case r >= 0xE000 && r <= 0xFFFD:
	case r >= 0x10000 && r <= 0x10FFFF:
	default:
		return 0, false
	}
	return r, true
}

// decodeClass marks the bytes decode rewrites: 1 in text and attribute
// values (& and CR), 2 in attribute values only (TAB and LF).
var decodeClass = func() (t [256]uint8) {
	t['&'], t['\r'] = 1, 1
	t['\t'], t['\n'] = 2, 2
	return t
}()

// needsDecode reports whether decode would change raw: whole words without
// a candidate byte are skipped (cleanWords), the rest is one table lookup
// per byte, no set built per call.
func needsDecode(raw string, attr bool) bool {
	mask := uint8(1)
	var i int
	if attr {
		mask = 3
		i = cleanWords(raw, 0x20, '&', '&', '&', '&') // TAB, LF and CR are below 0x20
	} else {
		i = cleanWords(raw, 0, '&', '\r', '\r', '\r')
	}
	for ; i < len(raw); i++ {
		if decodeClass[raw[i]]&mask != 0 {
			return true
		}
	}
	return false
}

// escText and escAttr map each byte c14n escapes, in text and in
// attribute values, to its escape ("" for bytes copied as they are).
var escText, escAttr = func() (t, a [256]string) {
	t['&'], t['<'], t['>'], t['\r'] = "&amp;", "&lt;", "&gt;", "&#xD;"
	a['&'], a['<'], a['"'] = "&amp;", "&lt;", "&quot;"
	a['\t'], a['\n'], a['\r'] = "&#x9;", "&#xA;", "&#xD;"
	return t, a
}()

// escClass has, per byte, bit 1 when escText maps it and bit 2 when
// escAttr does: the escape loop tests one byte per byte, not a string
// header.
var escClass = func() (t [256]uint8) {
	for c := range 256 {
		if escText[c] != "" {
			t[c] |= 1
		}
		if escAttr[c] != "" {
			t[c] |= 2
		}
	}
	return t
}()

// appendText appends s escaped as c14n text: & < > and CR.
func appendText(b []byte, s string) []byte {
	return appendEscaped(b, s, &escText, 1, cleanWords(s, 0, '&', '<', '>', '\r'))
}

// appendAttrValue appends s escaped as a c14n attribute value: & < " TAB LF CR.
func appendAttrValue(b []byte, s string) []byte {
	return appendEscaped(b, s, &escAttr, 2, cleanWords(s, 0x20, '&', '<', '"', '"'))
}

// appendValue appends an attribute value or namespace URI the scan took
// from the source: escaped when esc, else as it is (see attr.esc).
func appendValue(b []byte, s string, esc bool) []byte {
	if esc {
		return appendAttrValue(b, s)
	}
	return append(b, s...)
}

// appendEscaped appends s with every byte that esc maps replaced by its
// escape; a string with none is appended in one copy. bit is esc's bit in
// escClass; the first from bytes of s are known to need no escape.
func appendEscaped(b []byte, s string, esc *[256]string, bit uint8, from int) []byte {
	last := 0
	for i := from; i < len(s); i++ {
		if escClass[s[i]]&bit != 0 {
			b = append(b, s[last:i]...)
			b = append(b, esc[s[i]]...)
			last = i + 1
		}
	}
	return append(b, s[last:]...)
}

// Word-at-a-time (SWAR) tests, eight bytes per step (Hacker's Delight
// 6-1; "haszero"/"hasless"): for a word w, (w-lsb*n) &^ w & msb is non-zero
// exactly when some byte of w is below n (n <= 0x80), so with x = w^(lsb*c)
// and n = 1 it finds a byte equal to c. The tests are exact about whether
// a word holds such a byte, not about which one.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// word is s[i:i+8] as a little-endian word; the compiler merges the byte
// loads into one.
func word(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// cleanWords returns the length of the longest prefix of s made of whole
// eight-byte words none of whose bytes is c1, c2, c3 or c4 or below lt (0:
// no such test). It only lets the exact per-byte loops above start later:
// it decides nothing itself (TestCleanWords checks it against a byte loop).
func cleanWords(s string, lt, c1, c2, c3, c4 byte) int {
	kl := lsb * uint64(lt)
	k1, k2, k3, k4 := lsb*uint64(c1), lsb*uint64(c2), lsb*uint64(c3), lsb*uint64(c4)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := word(s, i)
		x1, x2, x3, x4 := w^k1, w^k2, w^k3, w^k4
		m := (w - kl) &^ w
		m |= (x1 - lsb) &^ x1
		m |= (x2 - lsb) &^ x2
		m |= (x3 - lsb) &^ x3
		m |= (x4 - lsb) &^ x4
		if m&msb != 0 {
			break
		}
	}
	return i
}

// isXMLSpace reports whether s is empty or only XML whitespace.
func isXMLSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}
