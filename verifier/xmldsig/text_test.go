package xmldsig

import (
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
