package xmldsig

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestTextTables checks the byte tables of the hot loops against the
// definitions they stand for, for every byte value: needsDecode against the
// characters decode rewrites, escClass against escText and escAttr.
func TestTextTables(t *testing.T) {
	for c := range 256 {
		s := "a" + string(rune(c))[:1] + "b"
		if c >= 0x80 {
			s = "a" + string([]byte{byte(c)}) + "b"
		}
		if got, want := needsDecode(s, false), strings.ContainsAny(s, "&\r"); got != want {
			t.Errorf("needsDecode(%q, text) = %v, want %v", s, got, want)
		}
		if got, want := needsDecode(s, true), strings.ContainsAny(s, "&\r\t\n"); got != want {
			t.Errorf("needsDecode(%q, attr) = %v, want %v", s, got, want)
		}
		if got, want := escClass[c]&1 != 0, escText[c] != ""; got != want {
			t.Errorf("escClass[%#x] text bit = %v, want %v", c, got, want)
		}
		if got, want := escClass[c]&2 != 0, escAttr[c] != ""; got != want {
			t.Errorf("escClass[%#x] attr bit = %v, want %v", c, got, want)
		}
	}
	for _, tc := range []struct{ in, text, attr string }{
		{"", "", ""},
		{"plain", "plain", "plain"},
		{"a&b<c>d\"e\tf\ng\rh", "a&amp;b&lt;c&gt;d\"e\tf\ng&#xD;h", "a&amp;b&lt;c>d&quot;e&#x9;f&#xA;g&#xD;h"},
		{"&&", "&amp;&amp;", "&amp;&amp;"},
		{"é<", "é&lt;", "é&lt;"},
	} {
		if got := string(appendText([]byte("x"), tc.in)); got != "x"+tc.text {
			t.Errorf("appendText(%q) = %q, want %q", tc.in, got, "x"+tc.text)
		}
		if got := string(appendAttrValue(nil, tc.in)); got != tc.attr {
			t.Errorf("appendAttrValue(%q) = %q, want %q", tc.in, got, tc.attr)
		}
	}
}

// The small tree is one allocation of the 1536-byte size class: growing a
// field past it would silently cost a bigger class on every request.
func TestSmallTreeSize(t *testing.T) {
	if n := unsafe.Sizeof(smallTree{}); n > 1536 || n < 1536-64 {
		t.Fatalf("smallTree is %d bytes, want just under 1536", n)
	}
}

// cleanWords only skips whole words that a byte loop finds clean, and
// skips every such word before the first unclean one: checked on random
// strings over an alphabet dense in the bytes tested, at every length and
// alignment up to 40.
func TestCleanWords(t *testing.T) {
	alphabet := []byte("&<>\"\r\n\t \x00\x1f\x20\x7f\x80\xffaZ")
	type set struct {
		lt             byte
		c1, c2, c3, c4 byte
	}
	sets := []set{{0, '&', '\r', '\r', '\r'}, {0x20, '&', '&', '&', '&'}, {0, '&', '<', '>', '\r'}, {0x20, '&', '<', '"', '"'}, {0x80, 'a', 'a', 'a', 'a'}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := rng.IntN(41)
		b := make([]byte, n)
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = 'a' + byte(rng.IntN(26))
			}
		}
		s := string(b)
		for _, cs := range sets {
			bad := func(c byte) bool { return c < cs.lt || c == cs.c1 || c == cs.c2 || c == cs.c3 || c == cs.c4 }
			want := 0
			for want+8 <= len(s) {
				clean := true
				for _, c := range []byte(s[want : want+8]) {
					clean = clean && !bad(c)
				}
				if !clean {
					break
				}
				want += 8
			}
			if got := cleanWords(s, cs.lt, cs.c1, cs.c2, cs.c3, cs.c4); got != want {
				t.Fatalf("cleanWords(%q, %+v) = %d, want %d", s, cs, got, want)
			}
		}
	}
}

// checkEscFlags fails when an attribute value or namespace URI the scan
// marked as needing no escape (esc false) holds a byte c14n escapes in
// attribute values: the writers would then copy it unescaped.
func checkEscFlags(t *testing.T, sc *scanner) {
	t.Helper()
	for k := range sc.attrs {
		a := &sc.attrs[k]
		if v := sc.attrValue(a); !a.esc && strings.ContainsAny(v, "&<\"\t\n\r") {
			t.Fatalf("attribute %s=%q marked as needing no escape", sc.attrLocal(a), v)
		}
	}
	for _, d := range sc.decls {
		if !d.esc && strings.ContainsAny(d.uri, "&<\"\t\n\r") {
			t.Fatalf("namespace %s=%q marked as needing no escape", d.prefix, d.uri)
		}
	}
}

// TestEscFlags: the flags are right on values written every way (quotes,
// references, literal whitespace), and the canonical forms agree with the
// escaping writer's.
func TestEscFlags(t *testing.T) {
	doc := "<r xmlns:p='urn:x\"y' xmlns:q=\"urn:a&amp;b\" a='x\"y' b=\"x&amp;y\" c=\"plain\" d='pl&#9;ain' e=\"x\ny\" f='q' " +
		"p:g=\"&quot;\" q:h=\"&lt;\"><x i='\"'/>t&gt;'\"</r>"
	sc, err := scan([]byte(doc), DefaultLimits(), false)
	if err != nil {
		t.Fatal(err)
	}
	checkEscFlags(t, sc)
	marked := 0
	for _, a := range sc.attrs {
		if !a.esc {
			marked++
		}
	}
	if marked != 2 { // c and f: the only ones the writers may copy as they are
		t.Fatalf("%d attributes copied as they are, want 2", marked)
	}
	want := `<r xmlns:p="urn:x&quot;y" xmlns:q="urn:a&amp;b" a="x&quot;y" b="x&amp;y" c="plain" d="pl&#x9;ain" e="x y" f="q" q:h="&lt;" p:g="&quot;"><x i="&quot;"></x>t&gt;'"</r>`
	if got := string(sc.out); got != want {
		t.Fatalf("scan c14n\n%s\nwant\n%s", got, want)
	}
}

// ctlBytes flags exactly the bytes charClass marks as forbidden controls,
// in every position of a word and next to every other byte value.
func TestCtlBytes(t *testing.T) {
	for c := range 256 {
		for _, fill := range []byte{0, 0x09, 0x1f, 0x20, 0x7f, 0x80, 0xff, 'a'} {
			for pos := range 8 {
				var w uint64
				for k := range 8 {
					b := uint64(fill)
					if k == pos {
						b = uint64(c)
					}
					w |= b << (8 * k)
				}
				for k := range 8 {
					b := byte(w >> (8 * k))
					if got, want := ctlBytes(w)>>(8*k+7)&1 == 1, charClass[b] == 1; got != want {
						t.Fatalf("ctlBytes(%#016x) byte %d (%#02x) = %v, want %v", w, k, b, got, want)
					}
				}
			}
		}
	}
	// checkChars rejects a forbidden control anywhere, in the word loop and
	// in the tail.
	for n := 1; n <= 40; n++ {
		for pos := range n {
			b := []byte(strings.Repeat("a\tb\nc\r", 8)[:n])
			b[pos] = 0x01
			if err := checkChars(b); err == nil {
				t.Fatalf("checkChars accepts 0x01 at %d of %d", pos, n)
			}
			b[pos] = 0xC3 // a lone lead byte: invalid UTF-8
			if err := checkChars(b); err == nil {
				t.Fatalf("checkChars accepts invalid UTF-8 at %d of %d", pos, n)
			}
		}
		if err := checkChars([]byte(strings.Repeat("a\tb\nc\ré", 8)[:n])); err != nil && n%8 != 7 {
			// n%8 == 7 cuts é in half
			t.Fatalf("checkChars rejects clean input of %d bytes: %v", n, err)
		}
	}
}

func TestTrimSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", " \t\r\na b \r\n\t", "\u00a0x\u00a0", "\v x \f", "  version", "1.0  "} {
		if got, want := trimSpaceLeft(s), strings.TrimLeft(s, " \t\r\n"); got != want {
			t.Errorf("trimSpaceLeft(%q) = %q, want %q", s, got, want)
		}
		if got, want := trimSpaceRight(s), strings.TrimRight(s, " \t\r\n"); got != want {
			t.Errorf("trimSpaceRight(%q) = %q, want %q", s, got, want)
		}
	}
}
