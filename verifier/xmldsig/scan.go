package xmldsig

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The scanner turns a document into a flat token list (start, end, text) in
// one pass, with names resolved against the namespace declarations in scope.
// Names and undecoded text are substrings of one string copy of the input,
// so a typical DUIS document costs a handful of allocations.

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

// token is one start tag, end tag or run of character data. For tStart,
// [attrLo,attrHi) indexes scanner.attrs, [nsLo,nsHi) indexes scanner.decls
// (the declarations written on this element), end is the index of the
// matching tEnd and nChild the number of child elements.
type token struct {
	kind           tokKind
	prefix, local  string
	space          string
	text           string // tText: decoded character data
	attrLo, attrHi int32
	nsLo, nsHi     int32
	end            int32
	nChild         int32
	off, endOff    int32 // byte range in the source: '<' of the start tag .. after '>' of the end tag
}

type attr struct {
	prefix, local, space, value string
}

type nsDecl struct {
	prefix, uri string
}

type scanner struct {
	s   string
	i   int
	lim Limits

	toks  []token
	attrs []attr
	decls []nsDecl

	scope  []nsDecl // in-scope declarations, innermost last
	open   []int32  // indices of open start tokens
	marks  []int32  // len(scope) at each open element
	nElems int

	allowComments bool      // Sign only: comments are recorded, not rejected
	comments      [][2]int  // byte ranges of comments seen (allowComments)
	pending       []rawAttr // scratch for one start tag
}

type rawAttr struct {
	prefix, local, value string
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// scan runs the whole scan. It never panics on any input; every problem is
// ErrMalformed.
func scan(data []byte, lim Limits, allowComments bool) (*scanner, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, malformed("document is %d bytes, limit %d", len(data), lim.MaxBytes)
	}
	if len(data) > 1<<30 {
		return nil, malformed("document too large")
	}
	if err := checkChars(data); err != nil {
		return nil, err
	}
	est := len(data) / 24
	sc := &scanner{
		s:             string(data),
		lim:           lim,
		toks:          make([]token, 0, est+8),
		attrs:         make([]attr, 0, 16),
		decls:         make([]nsDecl, 0, 8),
		scope:         make([]nsDecl, 0, 8),
		open:          make([]int32, 0, 16),
		marks:         make([]int32, 0, 16),
		allowComments: allowComments,
	}
	if err := sc.document(); err != nil {
		return nil, err
	}
	return sc, nil
}

// checkChars enforces the XML Char production and UTF-8 on the whole input
// up front, so later stages can treat bytes as trusted.
func checkChars(data []byte) error {
	hi := false
	for i, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return malformed("control character 0x%02x at offset %d", c, i)
		}
		if c >= 0x80 {
			hi = true
		}
	}
	if hi {
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
		decl = strings.TrimLeft(decl, " \t\r\n")
		if decl == "" {
			break
		}
		eq := strings.IndexByte(decl, '=')
		if eq < 0 {
			return malformed("bad XML declaration")
		}
		name := strings.TrimRight(decl[:eq], " \t\r\n")
		decl = strings.TrimLeft(decl[eq+1:], " \t\r\n")
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
			if err := sc.text(s[sc.i:sc.i+j], false); err != nil {
				return err
			}
			sc.i += j
			continue
		}
		rest := s[sc.i:]
		switch {
		case strings.HasPrefix(rest, "</"):
			if err := sc.endTag(); err != nil {
				return err
			}
			if len(sc.open) == 0 {
				return nil
			}
		case strings.HasPrefix(rest, "<!--"):
			if err := sc.comment(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "<![CDATA["):
			j := strings.Index(rest[9:], "]]>")
			if j < 0 {
				return malformed("unterminated CDATA at offset %d", sc.i)
			}
			if err := sc.text(rest[9:9+j], true); err != nil {
				return err
			}
			sc.i += 9 + j + 3
		case strings.HasPrefix(rest, "<?"):
			return malformed("processing instruction at offset %d", sc.i)
		case strings.HasPrefix(rest, "<!"):
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
func (sc *scanner) text(raw string, cdata bool) error {
	if len(sc.open) == 0 {
		return malformed("text outside the document element")
	}
	var v string
	if cdata {
		v = normalizeNewlines(raw)
	} else {
		if strings.Contains(raw, "]]>") {
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
	// Merge adjacent runs (text next to CDATA) so the tree and c14n see one
	// text node, as the XPath data model does.
	if n := len(sc.toks); n > 0 && sc.toks[n-1].kind == tText {
		sc.toks[n-1].text += v
		return nil
	}
	sc.toks = append(sc.toks, token{kind: tText, text: v})
	return nil
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

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isNameChar(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// qname reads a QName at sc.i and splits it.
func (sc *scanner) qname() (prefix, local string, err error) {
	s := sc.s
	start := sc.i
	colon := -1
	if sc.i >= len(s) || !isNameStart(s[sc.i]) {
		return "", "", malformed("bad name at offset %d", sc.i)
	}
	for sc.i < len(s) {
		c := s[sc.i]
		if c == ':' {
			if colon >= 0 {
				return "", "", malformed("bad name at offset %d", start)
			}
			colon = sc.i
			sc.i++
			if sc.i >= len(s) || !isNameStart(s[sc.i]) {
				return "", "", malformed("bad name at offset %d", start)
			}
			continue
		}
		if !isNameChar(c) {
			break
		}
		sc.i++
	}
	if colon < 0 {
		return "", s[start:sc.i], nil
	}
	return s[start:colon], s[colon+1 : sc.i], nil
}

func (sc *scanner) startTag() error {
	s := sc.s
	off := sc.i
	sc.i++ // '<'
	prefix, local, err := sc.qname()
	if err != nil {
		return err
	}
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
		ap, al, err := sc.qname()
		if err != nil {
			return err
		}
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
		rv := s[sc.i+1 : sc.i+1+j]
		sc.i += j + 2
		if strings.IndexByte(rv, '<') >= 0 {
			return malformed("'<' in attribute value")
		}
		v, err := decode(rv, true)
		if err != nil {
			return err
		}
		raw = append(raw, rawAttr{ap, al, v})
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
			d = nsDecl{"", a.value}
		case a.prefix == "xmlns":
			if a.local == "xml" || a.local == "xmlns" {
				return malformed("declaration of reserved prefix %q", a.local)
			}
			if a.value == "" {
				return malformed("empty namespace for prefix %q", a.local)
			}
			d = nsDecl{a.local, a.value}
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
	space, ok := sc.lookup(prefix)
	if !ok {
		return malformed("undeclared prefix %q", prefix)
	}
	attrLo := int32(len(sc.attrs))
	for _, a := range raw {
		if (a.prefix == "" && a.local == "xmlns") || a.prefix == "xmlns" {
			continue
		}
		as := ""
		if a.prefix != "" {
			if as, ok = sc.lookup(a.prefix); !ok {
				return malformed("undeclared prefix %q", a.prefix)
			}
		}
		for _, b := range sc.attrs[attrLo:] {
			if b.local == a.local && (b.space == as || b.prefix == a.prefix) {
				return malformed("duplicate attribute %q", a.local)
			}
		}
		sc.attrs = append(sc.attrs, attr{a.prefix, a.local, as, a.value})
	}

	if n := len(sc.open); n > 0 {
		sc.toks[sc.open[n-1]].nChild++
	}
	idx := int32(len(sc.toks))
	sc.toks = append(sc.toks, token{
		kind: tStart, prefix: prefix, local: local, space: space,
		attrLo: attrLo, attrHi: int32(len(sc.attrs)), nsLo: nsLo, nsHi: nsHi,
		off: int32(off),
	})
	sc.open = append(sc.open, idx)
	if empty {
		sc.closeElement(int32(sc.i))
	}
	return nil
}

func (sc *scanner) endTag() error {
	s := sc.s
	sc.i += 2
	prefix, local, err := sc.qname()
	if err != nil {
		return err
	}
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
	if st.prefix != prefix || st.local != local {
		return malformed("end tag %s:%s does not match %s:%s", prefix, local, st.prefix, st.local)
	}
	sc.closeElement(int32(sc.i))
	return nil
}

func (sc *scanner) closeElement(endOff int32) {
	n := len(sc.open)
	start := sc.open[n-1]
	sc.open = sc.open[:n-1]
	sc.scope = sc.scope[:sc.marks[n-1]]
	sc.marks = sc.marks[:n-1]
	sc.toks[start].end = int32(len(sc.toks))
	st := sc.toks[start]
	sc.toks = append(sc.toks, token{kind: tEnd, prefix: st.prefix, local: st.local, space: st.space, endOff: endOff})
	sc.toks[start].endOff = endOff
}

func (sc *scanner) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for i := len(sc.scope) - 1; i >= 0; i-- {
		if sc.scope[i].prefix == prefix {
			return sc.scope[i].uri, true
		}
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}
