package xmldsig

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The scanner turns a document into a flat token list (start, end, text) in
// one pass, with names resolved against the namespace declarations in scope.
// Names and undecoded text are substrings of one string view of the input,
// so a typical DUIS document costs a handful of allocations. For Parse the
// view aliases the caller's bytes (no copy; see scanner.aliased), for every
// other use it is a copy.

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

type tokKind uint8

const (
	tStart tokKind = iota + 1
	tEnd
	tText
)

// token is one start tag, end tag or run of character data. It holds no
// pointers (names are offsets into scanner.s, namespace URIs and texts are
// indices into scanner.uris and scanner.texts), so the token list costs the
// garbage collector nothing to scan and nothing in write barriers.
// For tStart, [attrLo,attrHi) indexes scanner.attrs, [nsLo,nsHi) indexes
// scanner.decls (the declarations written on this element), end is the
// index of the matching tEnd and nChild the number of child elements.
type token struct {
	kind           tokKind
	qOff, qLen     int32 // qualified name in scanner.s
	colon          int32 // length of the prefix, 0 if none
	ref            int32 // tStart/tEnd: scanner.uris index; tText: scanner.texts index, or -1 for the source text at qOff, qLen
	attrLo, attrHi int32
	nsLo, nsHi     int32
	end            int32
	nChild         int32
	off, endOff    int32 // byte range in the source: '<' of the start tag .. after '>' of the end tag
}

func (sc *scanner) qnameOf(t *token) string { return sc.s[t.qOff : t.qOff+t.qLen] }

func (sc *scanner) prefixOf(t *token) string {
	if t.colon == 0 {
		return ""
	}
	return sc.s[t.qOff : t.qOff+t.colon]
}

func (sc *scanner) localOf(t *token) string {
	if t.colon == 0 {
		return sc.s[t.qOff : t.qOff+t.qLen]
	}
	return sc.s[t.qOff+t.colon+1 : t.qOff+t.qLen]
}

func (sc *scanner) spaceOf(t *token) string { return sc.uris[t.ref] }

// textOf is the decoded text of a tText token: a substring of the source
// when nothing needed decoding (ref < 0), else an entry of sc.texts.
func (sc *scanner) textOf(t *token) string {
	if t.ref < 0 {
		return sc.s[t.qOff : t.qOff+t.qLen]
	}
	return sc.texts[t.ref]
}

// isElem reports whether token i starts the element {space}local.
func (sc *scanner) isElem(i int32, space, local string) bool {
	t := &sc.toks[i]
	return t.kind == tStart && sc.uris[t.ref] == space && sc.localOf(t) == local
}

// isDS reports whether token i starts the element ds:local (in the XML
// Signature namespace, by whatever prefix): isElem with NamespaceDS, the
// namespace compared once per document (intern), not once per element.
func (sc *scanner) isDS(i int32, local string) bool {
	t := &sc.toks[i]
	return t.kind == tStart && t.ref == sc.dsRef && sc.dsRef > 0 && sc.localOf(t) == local
}

// attr is an attribute of a start tag (namespace declarations are
// nsDecls). Like token it holds no pointers, only offsets into scanner.s
// and an index into scanner.uris, and it is 24 bytes: a document may carry
// MaxElements x MaxAttrs of them, one per five bytes at most (` a=""`), so
// their size is what the attribute list costs per byte of input.
// esc (in attr, nsDecl and rawAttr) is false only when the value holds no
// byte that c14n escapes in an attribute value (& < " TAB LF CR), so the
// writers copy it as it is; it is set from what the scan saw (startTag).
// dec: the value as written holds a reference or literal whitespace, and
// attrValue decodes it again (the scan checked that it decodes).
type attr struct {
	qOff, qLen int32  // qualified name in scanner.s
	colon      int32  // length of the prefix, 0 if none
	vOff, vLen int32  // value as written in scanner.s, quotes excluded
	ref        uint16 // scanner.uris index of the namespace; 0 (none) when unprefixed
	dec, esc   bool
}

func (sc *scanner) attrPrefix(a *attr) string {
	return sc.s[a.qOff : a.qOff+a.colon]
}

func (sc *scanner) attrLocal(a *attr) string {
	if a.colon == 0 {
		return sc.s[a.qOff : a.qOff+a.qLen]
	}
	return sc.s[a.qOff+a.colon+1 : a.qOff+a.qLen]
}

func (sc *scanner) attrQName(a *attr) string { return sc.s[a.qOff : a.qOff+a.qLen] }

func (sc *scanner) attrSpace(a *attr) string { return sc.uris[a.ref] }

// attrValue is the value decoded and normalised: a substring of the source
// unless it needed decoding (dec), then a new string.
func (sc *scanner) attrValue(a *attr) string {
	raw := sc.s[a.vOff : a.vOff+a.vLen]
	if !a.dec {
		return raw
	}
	v, err := decode(raw, true)
	if err != nil { // the scan decoded it already: unreachable
		return raw
	}
	return v
}

type nsDecl struct {
	prefix, uri string
	ui          int32 // index of uri in scanner.uris
	esc         bool
}

type scanner struct {
	s   string
	i   int
	lim Limits
	// aliased: s is the caller's bytes, not a copy (Parse). Nothing taken
	// from s may then be handed out: whatever leaves the package is copied
	// first (canon.own for the element tree, issuerSerial for KeyInfo).
	aliased bool

	toks  []token
	attrs []attr
	decls []nsDecl
	uris  []string // interned namespace URIs; 0 is "", 1 is the xml namespace
	dsRef int32    // index of NamespaceDS in uris, 0 while not declared
	texts []string // decoded character data of tText tokens

	scope  []nsDecl // in-scope declarations, innermost last
	open   []int32  // indices of open start tokens
	marks  []int32  // len(scope) at each open element
	nElems int

	// out is the inclusive Canonical XML of the document element, written
	// during the scan, with the subtree of the first ds:Signature child of
	// the document element cut out (the enveloped-signature transform):
	// sigCut is that element's start token, or -1.
	out    []byte
	sigCut int32
	cutAt  int
	// cutting: the scan is inside sigCut's subtree, whose canonical form
	// would be cut anyway, so nothing is written to out.
	cutting bool
	nSig    int // ds:Signature elements anywhere in the document

	allowComments bool      // Sign only: comments are recorded, not rejected
	comments      [][2]int  // byte ranges of comments seen (allowComments)
	pending       []rawAttr // scratch for one start tag
	sorted        []attr    // scratch for one start tag's attributes in c14n order
	names         attrNames // scratch for one start tag's duplicate check (dupAttr)

}

// scanBufs backs the scanner's small slices: a DUIS document fits in them,
// so they cost one allocation instead of seven (allocations, not bytes,
// dominate at this size). Kept apart from scanner so that the scanner
// itself can live on the stack (a struct pointing into itself escapes).
type scanBufs struct {
	uris    [8]string
	attrs   [32]attr
	decls   [8]nsDecl
	scope   [8]nsDecl
	open    [24]int32
	marks   [24]int32
	pending [8]rawAttr
	sorted  [8]attr
}

// rawAttr is an attribute of the start tag being read, before namespace
// resolution: its names and decoded value, and a its place in the source.
type rawAttr struct {
	prefix, local, value string
	a                    attr
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// scan runs the whole scan. It never panics on any input; every problem is
// ErrMalformed.
func scan(data []byte, lim Limits, allowComments bool) (*scanner, error) {
	sc := new(scanner)
	if err := scanInto(sc, new(scanBufs), nil, nil, data, lim, allowComments, false); err != nil {
		return nil, err
	}
	return sc, nil
}

// scanInto is scan writing its result to dst, with bufs as the small
// slices' backing and toks and out reused when their capacity suffices
// (Parse passes pooled ones). With alias, the scanner reads data in place
// instead of a string copy of it: the caller must then keep data unchanged
// while dst is in use, and copy whatever it hands out (scanner.aliased).
func scanInto(dst *scanner, bufs *scanBufs, toks []token, out []byte, data []byte, lim Limits, allowComments, alias bool) error {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return malformed("document is %d bytes, limit %d", len(data), lim.MaxBytes)
	}
	if len(data) > 1<<30 {
		return malformed("document too large")
	}
	if err := checkChars(data); err != nil {
		return err
	}
	// The scan runs on a stack-allocated scanner: its slice headers are
	// rewritten at every token, and on the stack those stores need no GC
	// write barriers (on the heap they cost a fifth of the scan while a
	// collection is running). The result is moved to dst at the end.
	var st scanner
	if alias {
		if len(data) > 0 {
			st.s = unsafe.String(&data[0], len(data))
		}
		st.aliased = true
	} else {
		st.s = string(data)
	}
	st.lim = lim
	if cap(out) >= len(data) {
		st.out = out[:0]
	} else {
		st.out = make([]byte, 0, len(data))
	}
	st.sigCut = -1
	// The token and attribute lists are sized once, from counts of the
	// bytes that can start one, so that they are never copied to grow: an
	// append-grown list costs about five times its final size in copies
	// left behind, which is what let a hostile document allocate 95 times
	// its size (TestHostileAllocation). maxTokens and maxAttrs bound what
	// the scan can append; the pooled lists of an earlier Parse are used
	// when they are large enough, as they are for a DUIS request.
	lt := bytes.Count(data, []byte{'<'})
	if n := maxTokens(lt, lim); cap(toks) >= n {
		st.toks = toks[:0]
	} else {
		st.toks = make([]token, 0, n)
	}
	st.allowComments = allowComments
	st.uris = append(bufs.uris[:0], "", nsXML)
	if n := maxAttrs(data, lt, lim); n <= len(bufs.attrs) {
		st.attrs = bufs.attrs[:0]
	} else {
		st.attrs = make([]attr, 0, n)
	}
	if n := maxTexts(data, lt); n > 0 {
		st.texts = make([]string, 0, n)
	}
	st.decls = bufs.decls[:0]
	st.scope = bufs.scope[:0]
	st.open = bufs.open[:0]
	st.marks = bufs.marks[:0]
	st.pending = bufs.pending[:0]
	st.sorted = bufs.sorted[:0]
	if err := st.document(); err != nil {
		return err
	}
	*dst = st
	dst.scope, dst.open, dst.marks, dst.pending, dst.sorted = nil, nil, nil, nil, nil // work stacks
	return nil
}

// maxTokens bounds the tokens of a document with lt '<' bytes. Raw
// character data ends at a '<' (at most lt runs); every CDATA section,
// start tag and end tag begins at one of its own (together at most lt
// tokens); and an empty-element tag adds an end token (at most one per
// element, at most MaxElements).
func maxTokens(lt int, lim Limits) int {
	return 2*lt + min(lt, lim.MaxElements) + 1
}

// maxAttrs bounds the attributes of a document: each takes an '=' outside
// its value and at least five bytes (` a=""`), and an element carries at
// most MaxAttrs; the document has at most lt elements.
func maxAttrs(data []byte, lt int, lim Limits) int {
	n := min(len(data)/5, min(lt, lim.MaxElements)*lim.MaxAttrs)
	if n == 0 {
		return 0
	}
	return min(n, bytes.Count(data, []byte{'='}))
}

// maxTexts bounds the decoded character data runs (scanner.texts): a run
// needs decoding for a '&' or CR in it (and runs are at most maxTokens).
func maxTexts(data []byte, lt int) int {
	n := bytes.Count(data, []byte{'&'})
	if n < 2*lt+1 {
		n += bytes.Count(data, []byte{'\r'})
	}
	return min(n, 2*lt+1)
}

// charClass marks bytes that need a closer look: 1 for C0 controls other
// than TAB, LF and CR (never allowed), 2 for non-ASCII (UTF-8 to validate).
var charClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		if c != '\t' && c != '\n' && c != '\r' {
			t[c] = 1
		}
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = 2
	}
	return t
}()

// checkChars enforces the XML Char production and UTF-8 on the whole input
// up front, so later stages can treat bytes as trusted. Sixteen bytes at a
// time: two words with no byte below 0x20 and none at or above 0x80 (the
// usual case) need no closer look, and the others get one without a byte
// loop (ctlBytes).
func checkChars(data []byte) error {
	const k = lsb * 0x20
	var bad, high uint64
	d := data
	for len(d) >= 16 {
		b := (*[16]byte)(d) // one bounds check for both words
		d = d[16:]
		w0 := binary.LittleEndian.Uint64(b[:8])
		w1 := binary.LittleEndian.Uint64(b[8:])
		// ((w-k)|w)&msb is zero exactly when every byte is in [0x20, 0x80).
		if ((w0-k)|w0|(w1-k)|w1)&msb == 0 {
			continue
		}
		bad |= ctlBytes(w0) | ctlBytes(w1)
		high |= (w0 | w1) & msb
	}
	var f uint8
	for _, c := range d {
		f |= charClass[c]
	}
	if bad != 0 || f&1 != 0 {
		for i, c := range data {
			if charClass[c] == 1 {
				return malformed("control character 0x%02x at offset %d", c, i)
			}
		}
	}
	if high != 0 || f&2 != 0 {
		if !utf8.Valid(data) {
			return malformed("invalid UTF-8")
		}
		// U+FFFE and U+FFFF are not XML characters.
		s := string(data)
		if strings.Contains(s, "\uFFFE") || strings.Contains(s, "\uFFFF") {
			return malformed("non-character U+FFFE/U+FFFF")
		}
	}
	return nil
}

// ctlBytes returns, in the high bit of each byte, whether that byte of w is
// a C0 control other than TAB, LF and CR (charClass 1), exactly per byte:
// with the high bits masked off, adding 0x60 (or 0x7f) carries into no
// neighbour, so bit 7 of a byte says whether its low seven bits reach 0x20
// (or are non-zero). TestCtlBytes checks it against charClass.
func ctlBytes(w uint64) uint64 {
	lt := ^(((w &^ msb) + lsb*0x60) | w) & msb // byte < 0x20
	zero := func(x uint64) uint64 { return ^(((x &^ msb) + lsb*0x7f) | x) & msb }
	return lt &^ (zero(w^lsb*'\t') | zero(w^lsb*'\n') | zero(w^lsb*'\r'))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (sc *scanner) skipSpace() bool {
	start := sc.i
	for sc.i < len(sc.s) && isSpace(sc.s[sc.i]) {
		sc.i++
	}
	return sc.i > start
}

func (sc *scanner) document() error {
	s := sc.s
	if strings.HasPrefix(s, "\xef\xbb\xbf") {
		sc.i = 3
	}
	if strings.HasPrefix(s[sc.i:], "<?xml") && len(s) > sc.i+5 && isSpace(s[sc.i+5]) {
		if err := sc.xmlDecl(); err != nil {
			return err
		}
	}
	// Prolog: whitespace only (comments only when allowed).
	for {
		sc.skipSpace()
		if sc.i >= len(s) {
			return malformed("no document element")
		}
		if s[sc.i] != '<' {
			return malformed("text before the document element at offset %d", sc.i)
		}
		if err := sc.misc(); err != nil {
			return err
		}
		if sc.i < len(s) && s[sc.i] == '<' && sc.i+1 < len(s) && isNameStart(s[sc.i+1]) {
			break
		}
	}
	if err := sc.content(); err != nil {
		return err
	}
	// Epilog.
	for {
		sc.skipSpace()
		if sc.i >= len(s) {
			return nil
		}
		if s[sc.i] != '<' {
			return malformed("text after the document element at offset %d", sc.i)
		}
		if err := sc.misc(); err != nil {
			return err
		}
		if sc.i < len(s) && s[sc.i] == '<' && sc.i+1 < len(s) && isNameStart(s[sc.i+1]) {
			return malformed("second document element at offset %d", sc.i)
		}
	}
}

// misc consumes a comment (when allowed) at sc.i, rejects PIs and DTDs, and
// leaves element starts for the caller.
func (sc *scanner) misc() error {
	rest := sc.s[sc.i:]
	switch {
	case strings.HasPrefix(rest, "<!--"):
		return sc.comment()
	case strings.HasPrefix(rest, "<?"):
		return malformed("processing instruction at offset %d", sc.i)
	case strings.HasPrefix(rest, "<!DOCTYPE"), strings.HasPrefix(rest, "<!"):
		return malformed("DTD or markup declaration at offset %d", sc.i)
	case len(rest) > 1 && isNameStart(rest[1]):
		return nil
	}
	return malformed("unexpected markup at offset %d", sc.i)
}

func (sc *scanner) comment() error {
	start := sc.i
	if !sc.allowComments {
		return malformed("comment at offset %d", start)
	}
	j := strings.Index(sc.s[start+4:], "--")
	if j < 0 || !strings.HasPrefix(sc.s[start+4+j:], "-->") {
		return malformed("bad comment at offset %d", start)
	}
	sc.i = start + 4 + j + 3
	sc.comments = append(sc.comments, [2]int{start, sc.i})
	return nil
}

// xmlDecl accepts <?xml version="1.0" [encoding="UTF-8"] [standalone=..]?>.
func (sc *scanner) xmlDecl() error {
	end := strings.Index(sc.s[sc.i:], "?>")
	if end < 0 {
		return malformed("unterminated XML declaration")
	}
	decl := sc.s[sc.i+5 : sc.i+end]
	sc.i += end + 2
	fields := 0
	for decl != "" {
		decl = trimSpaceLeft(decl)
		if decl == "" {
			break
		}
		eq := strings.IndexByte(decl, '=')
		if eq < 0 {
			return malformed("bad XML declaration")
		}
		name := trimSpaceRight(decl[:eq])
		decl = trimSpaceLeft(decl[eq+1:])
		if decl == "" || (decl[0] != '"' && decl[0] != '\'') {
			return malformed("bad XML declaration")
		}
		q := strings.IndexByte(decl[1:], decl[0])
		if q < 0 {
			return malformed("bad XML declaration")
		}
		val := decl[1 : 1+q]
		decl = decl[q+2:]
		switch {
		case name == "version" && fields == 0:
			if val != "1.0" {
				return malformed("XML version %q", val)
			}
		case name == "encoding" && fields >= 1:
			if !strings.EqualFold(val, "UTF-8") {
				return malformed("encoding %q (only UTF-8)", val)
			}
		case name == "standalone" && fields >= 1:
			if val != "yes" && val != "no" {
				return malformed("bad standalone %q", val)
			}
		default:
			return malformed("bad XML declaration field %q", name)
		}
		fields++
	}
	if fields == 0 {
		return malformed("XML declaration without version")
	}
	return nil
}

// trimSpaceLeft and trimSpaceRight are strings.TrimLeft and TrimRight with
// the cutset " \t\r\n" (isSpace), without the set those build per call.
func trimSpaceLeft(s string) string {
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimSpaceRight(s string) string {
	for s != "" && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// content scans from the document element's start tag to its end tag.
func (sc *scanner) content() error {
	s := sc.s
	for {
		if sc.i >= len(s) {
			return malformed("unexpected end of document")
		}
		if s[sc.i] != '<' {
			j := strings.IndexByte(s[sc.i:], '<')
			if j < 0 {
				return malformed("unexpected end of document")
			}
			if err := sc.text(s[sc.i:sc.i+j], sc.i, false); err != nil {
				return err
			}
			sc.i += j
			continue
		}
		rest := s[sc.i:]
		var next byte
		if len(rest) > 1 {
			next = rest[1]
		}
		switch {
		case next == '/':
			if err := sc.endTag(); err != nil {
				return err
			}
			if len(sc.open) == 0 {
				return nil
			}
		case next == '!' && strings.HasPrefix(rest, "<!--"):
			if err := sc.comment(); err != nil {
				return err
			}
		case next == '!' && strings.HasPrefix(rest, "<![CDATA["):
			j := strings.Index(rest[9:], "]]>")
			if j < 0 {
				return malformed("unterminated CDATA at offset %d", sc.i)
			}
			if err := sc.text(rest[9:9+j], sc.i+9, true); err != nil {
				return err
			}
			sc.i += 9 + j + 3
		case next == '?':
			return malformed("processing instruction at offset %d", sc.i)
		case next == '!':
			return malformed("markup declaration at offset %d", sc.i)
		default:
			if err := sc.startTag(); err != nil {
				return err
			}
			if len(sc.open) == 0 { // <root/>
				return nil
			}
		}
	}
}

// text records character data (raw = undecoded source, cdata = literal).
func (sc *scanner) text(raw string, off int, cdata bool) error {
	if len(sc.open) == 0 {
		return malformed("text outside the document element")
	}
	if raw == "" {
		return nil
	}
	if cls := textClassOf(raw); cls&(tcCR|tcAmp) == 0 || (cdata && cls&tcCR == 0) {
		if !cdata && cls&tcGT != 0 && strings.Contains(raw, "]]>") {
			return malformed("']]>' in character data")
		}
		// Nothing to decode: the token points into the source. Character
		// data without & > CR (and without '<', which ended it) is its own
		// canonical form.
		if !sc.cutting {
			if cdata || cls != 0 {
				sc.out = appendText(sc.room(sc.out, raw, 0, &escText, 1), raw)
			} else {
				sc.out = append(sc.room(sc.out, raw, 0, nil, 0), raw...)
			}
		}
		sc.toks = append(sc.toks, token{kind: tText, qOff: int32(off), qLen: int32(len(raw)), ref: -1})
		return nil
	}
	var v string
	if cdata {
		v = normalizeNewlines(raw)
	} else {
		if strings.IndexByte(raw, '>') >= 0 && strings.Contains(raw, "]]>") {
			return malformed("']]>' in character data")
		}
		var err error
		if v, err = decode(raw, false); err != nil {
			return err
		}
	}
	if v == "" {
		return nil
	}
	if !sc.cutting {
		sc.out = appendText(sc.room(sc.out, v, 0, &escText, 1), v)
	}
	// Adjacent runs (text next to CDATA) stay separate tokens: merging them
	// with += would be quadratic in a hostile document, and every consumer
	// (c14n, the tree, leaf texts) concatenates in order anyway.
	sc.toks = append(sc.toks, token{kind: tText, ref: int32(len(sc.texts))})
	sc.texts = append(sc.texts, v)
	return nil
}

// Bits of textClassOf: which of the bytes that decide text handling occur.
const (
	tcCR  = 1 << iota // needs decoding (line end normalisation)
	tcAmp             // needs decoding (a reference)
	tcGT              // c14n escapes it; "]]>" is an error
)

var textClass = func() (t [256]uint8) {
	t['\r'], t['&'], t['>'] = tcCR, tcAmp, tcGT
	return t
}()

// textClassOf returns the tc bits of the bytes in s: one table pass for
// short runs (indentation), three vectorised searches for long ones.
func textClassOf(s string) uint8 {
	var c uint8
	if len(s) <= 24 {
		for i := 0; i < len(s); i++ {
			c |= textClass[s[i]]
		}
		return c
	}
	if strings.IndexByte(s, '\r') >= 0 {
		c |= tcCR
	}
	if strings.IndexByte(s, '&') >= 0 {
		c |= tcAmp
	}
	if strings.IndexByte(s, '>') >= 0 {
		c |= tcGT
	}
	return c
}

func normalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			b = append(b, '\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// nameClass: 1 = may start a name, 2 = may continue one. Non-ASCII bytes
// are allowed in both (UTF-8 was validated; the XML name ranges are wide).
var nameClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c >= 0x80:
			t[c] = 3
		case c >= '0' && c <= '9', c == '-', c == '.':
			t[c] = 2
		}
	}
	return t
}()

func isNameStart(c byte) bool { return nameClass[c]&1 != 0 }

func isNameChar(c byte) bool { return nameClass[c] != 0 }

// qname reads a QName at sc.i and splits it: NCName, optionally ':' and
// a second NCName. The name loops test one table entry per byte.
func (sc *scanner) qname() (prefix, local string, err error) {
	s := sc.s
	start := sc.i
	if start >= len(s) || !isNameStart(s[start]) {
		return "", "", malformed("bad name at offset %d", start)
	}
	i := start + 1
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	if i >= len(s) || s[i] != ':' {
		sc.i = i
		return "", s[start:i], nil
	}
	colon := i
	i++
	if i >= len(s) || !isNameStart(s[i]) {
		return "", "", malformed("bad name at offset %d", start)
	}
	for i++; i < len(s) && isNameChar(s[i]); i++ {
	}
	if i < len(s) && s[i] == ':' {
		return "", "", malformed("bad name at offset %d", start)
	}
	sc.i = i
	return s[start:colon], s[colon+1 : i], nil
}

func (sc *scanner) startTag() error {
	s := sc.s
	off := sc.i
	sc.i++ // '<'
	qOff := sc.i
	prefix, local, err := sc.qname()
	if err != nil {
		return err
	}
	qLen := sc.i - qOff
	sc.nElems++
	if sc.nElems > sc.lim.MaxElements {
		return malformed("more than %d elements", sc.lim.MaxElements)
	}
	if len(sc.open)+1 > sc.lim.MaxDepth {
		return malformed("nesting deeper than %d", sc.lim.MaxDepth)
	}
	raw := sc.pending[:0]
	empty := false
	for {
		sp := sc.skipSpace()
		if sc.i >= len(s) {
			return malformed("unterminated start tag at offset %d", off)
		}
		if s[sc.i] == '>' {
			sc.i++
			break
		}
		if s[sc.i] == '/' {
			if sc.i+1 < len(s) && s[sc.i+1] == '>' {
				sc.i += 2
				empty = true
				break
			}
			return malformed("bad start tag at offset %d", off)
		}
		if !sp {
			return malformed("missing space before attribute at offset %d", sc.i)
		}
		aOff := sc.i
		ap, al, err := sc.qname()
		if err != nil {
			return err
		}
		aLen := sc.i - aOff
		sc.skipSpace()
		if sc.i >= len(s) || s[sc.i] != '=' {
			return malformed("attribute without value at offset %d", sc.i)
		}
		sc.i++
		sc.skipSpace()
		if sc.i >= len(s) || (s[sc.i] != '"' && s[sc.i] != '\'') {
			return malformed("unquoted attribute value at offset %d", sc.i)
		}
		q := s[sc.i]
		j := strings.IndexByte(s[sc.i+1:], q)
		if j < 0 {
			return malformed("unterminated attribute value at offset %d", sc.i)
		}
		vOff := sc.i + 1
		rv := s[vOff : vOff+j]
		sc.i += j + 2
		if strings.IndexByte(rv, '<') >= 0 {
			return malformed("'<' in attribute value")
		}
		// A value that needs no decoding holds none of & TAB LF CR, and no
		// '<': c14n escapes nothing in it unless it holds '"' (only possible
		// between single quotes).
		v, esc := rv, q == '\'' && strings.IndexByte(rv, '"') >= 0
		dec := needsDecode(rv, true)
		if dec {
			if v, err = decode(rv, true); err != nil {
				return err
			}
			esc = true
		}
		raw = append(raw, rawAttr{ap, al, v, attr{
			qOff: int32(aOff), qLen: int32(aLen), colon: int32(len(ap)),
			vOff: int32(vOff), vLen: int32(j), dec: dec, esc: esc,
		}})
		if len(raw) > sc.lim.MaxAttrs {
			return malformed("more than %d attributes on one element", sc.lim.MaxAttrs)
		}
	}
	sc.pending = raw

	// Namespace declarations first: they apply to the element's own name
	// and attributes.
	sc.marks = append(sc.marks, int32(len(sc.scope)))
	nsLo := int32(len(sc.decls))
	for _, a := range raw {
		var d nsDecl
		switch {
		case a.prefix == "" && a.local == "xmlns":
			d = nsDecl{prefix: "", uri: a.value, esc: a.a.esc}
		case a.prefix == "xmlns":
			if a.local == "xml" || a.local == "xmlns" {
				return malformed("declaration of reserved prefix %q", a.local)
			}
			if a.value == "" {
				return malformed("empty namespace for prefix %q", a.local)
			}
			d = nsDecl{prefix: a.local, uri: a.value, esc: a.a.esc}
		default:
			continue
		}
		if d.uri == nsXML || d.uri == nsXMLNS {
			return malformed("reserved namespace bound to %q", d.prefix)
		}
		for _, e := range sc.decls[nsLo:] {
			if e.prefix == d.prefix {
				return malformed("duplicate namespace declaration %q", d.prefix)
			}
		}
		d.ui = sc.intern(d.uri)
		sc.decls = append(sc.decls, d)
		sc.scope = append(sc.scope, d)
		if len(sc.decls) > sc.lim.MaxNSDecls {
			return malformed("more than %d namespace declarations", sc.lim.MaxNSDecls)
		}
	}
	nsHi := int32(len(sc.decls))

	if prefix == "xmlns" {
		return malformed("element with prefix xmlns")
	}
	_, ui, ok := sc.lookup(prefix)
	if !ok {
		return malformed("undeclared prefix %q", prefix)
	}
	attrLo := int32(len(sc.attrs))
	var names *attrNames
	if len(raw) > smallAttrs {
		names = &sc.names
		clear(names.slot[:])
	}
	for _, a := range raw {
		if (a.prefix == "" && a.local == "xmlns") || a.prefix == "xmlns" {
			continue
		}
		at := a.a
		if a.prefix != "" {
			_, ai, ok := sc.lookup(a.prefix)
			if !ok {
				return malformed("undeclared prefix %q", a.prefix)
			}
			at.ref = uint16(ai)
		}
		if sc.dupAttr(attrLo, &at, a.local, names) {
			return malformed("duplicate attribute %q", a.local)
		}
		sc.attrs = append(sc.attrs, at)
	}

	idx := int32(len(sc.toks))
	if n := len(sc.open); n > 0 {
		sc.toks[sc.open[n-1]].nChild++
	}
	if local == "Signature" && ui == sc.dsRef && ui > 0 {
		sc.nSig++
		if len(sc.open) == 1 && sc.sigCut < 0 {
			sc.sigCut, sc.cutAt, sc.cutting = idx, len(sc.out), true
		}
	}
	if !sc.cutting {
		sc.emitStart(s[qOff:qOff+qLen], nsLo, nsHi, attrLo)
	}
	colon := int32(0)
	if prefix != "" {
		colon = int32(len(prefix))
	}
	sc.toks = append(sc.toks, token{
		kind: tStart, qOff: int32(qOff), qLen: int32(qLen), colon: colon, ref: ui,
		attrLo: attrLo, attrHi: int32(len(sc.attrs)), nsLo: nsLo, nsHi: nsHi,
		off: int32(off),
	})
	sc.open = append(sc.open, idx)
	if empty {
		sc.closeElement(int32(sc.i))
	}
	return nil
}

// smallAttrs: up to this many attributes on an element, dupAttr compares
// each with those before it (fewer steps than hashing); beyond it, the
// attributes go through attrNames, so that an element of MaxAttrs
// attributes costs time linear in them, not quadratic (TestAttrCostFlat).
const smallAttrs = 8

// attrNames is an open-addressed hash set of the attributes of one start
// tag, by namespace and local name: slot holds 1 + the attribute's index
// from the element's first (0 is empty). Twice MaxAttrs's ceiling keeps it
// at most half full; the hash is seeded per process, so a document cannot
// choose names that collide.
type attrNames struct {
	slot [2 * 64]uint8
}

var attrSeed = maphash.MakeSeed()

// dupAttr reports whether the start tag's attributes so far,
// sc.attrs[attrLo:], hold one with at's namespace and local name. Within
// one element a prefix has one binding, so the same prefix means the same
// namespace (ref) and the namespace decides alone. names is nil for a tag
// of at most smallAttrs attributes; otherwise dupAttr also adds at, which
// the caller appends to sc.attrs next.
func (sc *scanner) dupAttr(attrLo int32, at *attr, local string, names *attrNames) bool {
	have := sc.attrs[attrLo:]
	if names == nil {
		for k := range have {
			if b := &have[k]; b.ref == at.ref && sc.attrLocal(b) == local {
				return true
			}
		}
		return false
	}
	mask := uint64(len(names.slot) - 1)
	for h := maphash.String(attrSeed, local) ^ uint64(at.ref)*0x9e3779b97f4a7c15; ; h++ {
		s := &names.slot[h&mask]
		if *s == 0 {
			*s = uint8(len(have) + 1)
			return false
		}
		if b := &have[*s-1]; b.ref == at.ref && sc.attrLocal(b) == local {
			return true
		}
	}
}

func (sc *scanner) endTag() error {
	s := sc.s
	// The usual end tag is exactly "</" + the open element's name + ">":
	// compare it as a whole instead of reading the name byte by byte (the
	// same outcome: that name is a QName and '>' ends it).
	if n := len(sc.open); n > 0 {
		q := sc.qnameOf(&sc.toks[sc.open[n-1]])
		if j := sc.i + 2 + len(q); j < len(s) && s[j] == '>' && s[sc.i+2:j] == q {
			sc.i = j + 1
			sc.closeElement(int32(sc.i))
			return nil
		}
	}
	sc.i += 2
	qOff := sc.i
	if _, _, err := sc.qname(); err != nil {
		return err
	}
	qname := s[qOff:sc.i]
	sc.skipSpace()
	if sc.i >= len(s) || s[sc.i] != '>' {
		return malformed("bad end tag at offset %d", sc.i)
	}
	sc.i++
	n := len(sc.open)
	if n == 0 {
		return malformed("end tag without start")
	}
	st := &sc.toks[sc.open[n-1]]
	if sc.qnameOf(st) != qname {
		return malformed("end tag %s does not match %s", qname, sc.qnameOf(st))
	}
	sc.closeElement(int32(sc.i))
	return nil
}

func (sc *scanner) closeElement(endOff int32) {
	n := len(sc.open)
	start := sc.open[n-1]
	if start == sc.sigCut {
		sc.out = sc.out[:sc.cutAt]
		sc.cutting = false
	} else if !sc.cutting {
		q := sc.qnameOf(&sc.toks[start])
		out := append(sc.grow(sc.out, len(q)+3), "</"...)
		out = append(out, q...)
		sc.out = append(out, '>')
	}
	sc.open = sc.open[:n-1]
	sc.scope = sc.scope[:sc.marks[n-1]]
	sc.marks = sc.marks[:n-1]
	sc.toks[start].end = int32(len(sc.toks))
	st := sc.toks[start]
	sc.toks = append(sc.toks, token{kind: tEnd, qOff: st.qOff, qLen: st.qLen, colon: st.colon, ref: st.ref, endOff: endOff})
	sc.toks[start].endOff = endOff
}

func (sc *scanner) lookup(prefix string) (string, int32, bool) {
	if prefix == "xml" {
		return nsXML, 1, true
	}
	for i := len(sc.scope) - 1; i >= 0; i-- {
		if sc.scope[i].prefix == prefix {
			return sc.scope[i].uri, sc.scope[i].ui, true
		}
	}
	if prefix == "" {
		return "", 0, true
	}
	return "", 0, false
}

// intern returns the index of uri in sc.uris, adding it if new. There are
// at most MaxNSDecls+2 entries.
func (sc *scanner) intern(uri string) int32 {
	for i, u := range sc.uris {
		if u == uri {
			return int32(i)
		}
	}
	sc.uris = append(sc.uris, uri)
	i := int32(len(sc.uris) - 1)
	if uri == NamespaceDS {
		sc.dsRef = i
	}
	return i
}

// grow returns out with room for n more bytes. Left to append, the
// canonical form grows by a quarter at a time once it is large, each step
// a copy of all of it left behind: a document whose canonical form is four
// to six times its size (text of '>', attribute values of '"') allocated
// 20 to 26 times its size so. grow sizes it for the whole document at the
// rate of output per input byte seen so far, an eighth more, and at least
// a quarter more than before (so a rate that keeps rising still grows
// geometrically).
func (sc *scanner) grow(out []byte, n int) []byte {
	if cap(out)-len(out) >= n {
		return out
	}
	c := cap(out) + cap(out)/4
	if sc.i > 0 {
		est := int(int64(len(out)) * int64(len(sc.s)) / int64(sc.i))
		c = max(c, est+est/8)
	}
	b := make([]byte, len(out), max(c, len(out)+n))
	copy(b, out)
	return b
}

// room returns out (grow) with room for extra bytes and s escaped with esc
// (nil: s as it is). The exact escaped length is counted only when the
// quick bound, six bytes for each of s, does not fit already.
func (sc *scanner) room(out []byte, s string, extra int, esc *[256]string, bit uint8) []byte {
	if cap(out)-len(out) >= extra+6*len(s) {
		return out
	}
	n := extra + len(s)
	if esc != nil {
		for i := 0; i < len(s); i++ {
			if escClass[s[i]]&bit != 0 {
				n += len(esc[s[i]]) - 1
			}
		}
	}
	return sc.grow(out, n)
}

// escFor is the escape table room needs for an attribute value or URI
// that appendValue writes with esc.
func escFor(esc bool) *[256]string {
	if esc {
		return &escAttr
	}
	return nil
}

// emitStart writes the inclusive-c14n start tag of the element being
// opened: the namespace declarations written on it whose binding differs
// from the one in scope at its parent (redundant re-declarations and a
// no-op xmlns="" vanish), sorted by prefix, then its attributes sorted by
// namespace URI and local name. The element's own declarations are the
// last nsHi-nsLo entries of sc.scope, pushed already.
func (sc *scanner) emitStart(qname string, nsLo, nsHi, attrLo int32) {
	// out is a local so that the appends below store the slice header
	// once, not once each (every store through sc is a GC write barrier).
	out := sc.grow(sc.out, len(qname)+2)
	out = append(out, '<')
	out = append(out, qname...)
	if nsHi > nsLo {
		parent := sc.scope[:len(sc.scope)-int(nsHi-nsLo)]
		var buf [8]nsDecl
		ns := buf[:0]
		for _, d := range sc.decls[nsLo:nsHi] {
			inScope := ""
			for i := len(parent) - 1; i >= 0; i-- {
				if parent[i].prefix == d.prefix {
					inScope = parent[i].uri
					break
				}
			}
			if inScope != d.uri {
				ns = append(ns, d)
			}
		}
		sortNS(ns)
		for _, d := range ns {
			out = sc.room(out, d.uri, len(d.prefix)+10, escFor(d.esc), 2)
			if d.prefix == "" {
				out = append(out, ` xmlns="`...)
			} else {
				out = append(out, ` xmlns:`...)
				out = append(out, d.prefix...)
				out = append(out, `="`...)
			}
			out = appendValue(out, d.uri, d.esc)
			out = append(out, '"')
		}
	}
	if as := sc.attrs[attrLo:]; len(as) > 0 {
		if len(as) > 1 {
			as = append(sc.sorted[:0], as...)
			sc.sortAttrs(as)
			sc.sorted = as
		}
		for k := range as {
			a := &as[k]
			v := sc.attrValue(a)
			out = sc.room(out, v, int(a.qLen)+4, escFor(a.esc), 2)
			out = append(out, ' ')
			out = append(out, sc.attrQName(a)...)
			out = append(out, `="`...)
			out = appendValue(out, v, a.esc)
			out = append(out, '"')
		}
	}
	sc.out = append(out, '>')
}
