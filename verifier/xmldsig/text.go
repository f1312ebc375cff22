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
	if attr {
		if strings.IndexAny(raw, "&\r\t\n") < 0 {
			return raw, nil
		}
	} else if strings.IndexByte(raw, '&') < 0 && strings.IndexByte(raw, '\r') < 0 {
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

// escText and escAttr map each byte c14n escapes, in text and in
// attribute values, to its escape ("" for bytes copied as they are).
var escText, escAttr = func() (t, a [256]string) {
	t['&'], t['<'], t['>'], t['\r'] = "&amp;", "&lt;", "&gt;", "&#xD;"
	a['&'], a['<'], a['"'] = "&amp;", "&lt;", "&quot;"
	a['\t'], a['\n'], a['\r'] = "&#x9;", "&#xA;", "&#xD;"
	return t, a
}()

// appendText appends s escaped as c14n text: & < > and CR.
func appendText(b []byte, s string) []byte { return appendEscaped(b, s, &escText) }

// appendAttrValue appends s escaped as a c14n attribute value: & < " TAB LF CR.
func appendAttrValue(b []byte, s string) []byte { return appendEscaped(b, s, &escAttr) }

// appendEscaped appends s with every byte that esc maps replaced by its
// escape; a string with none is appended in one copy.
func appendEscaped(b []byte, s string, esc *[256]string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if e := esc[s[i]]; e != "" {
			b = append(b, s[last:i]...)
			b = append(b, e...)
			last = i + 1
		}
	}
	return append(b, s[last:]...)
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
