package xmldsig

import (
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// canon writes Canonical XML 1.0 or Exclusive Canonical XML 1.0 (both
// without comments; comments never reach here) of one element subtree of
// the scanned tokens, optionally leaving out one nested subtree (the
// enveloped signature), and optionally building the Element tree from the
// same walk.
//
// Both algorithms differ only in which namespace declarations an element
// gets:
//   - inclusive (used only with the document element as apex, whose
//     ancestors are none): a declaration written on the element is output
//     when its value differs from the binding in scope at the parent, which
//     drops redundant re-declarations and a no-op xmlns="";
//   - exclusive: a prefix visibly used by the element (its own prefix, or
//     the prefix of one of its attributes) is declared when the nearest
//     output ancestor did not already render the same binding.
type canon struct {
	sc    *scanner
	toks  []token
	attrs []attr
	decls []nsDecl

	exclusive bool
	emit      bool // write canonical output (false: build the tree only)
	out       []byte

	// nsLimit, when not zero, bounds nsBytes, the bytes of namespace
	// declarations an exclusive walk renders: past it run stops and sets
	// over. Exclusive c14n renders a binding on every element that uses
	// it when no output ancestor did, so one long URI declared where it
	// is not used is written again for each child that uses it: without a
	// bound a 23 KB document made 80 MB of canonical form, and 224 KB
	// made 3.6 GB (TestExclusiveC14NFanout).
	nsLimit, nsBytes int
	over             bool

	stack []nsDecl // exclusive: rendered bindings; inclusive: in-scope bindings
	marks []int32

	nsBuf []nsDecl
	atBuf []attr

	build bool
	// With owning (the scanner aliases the caller's bytes), every string
	// the tree takes from the source [srcLo, srcHi) is copied into arena
	// first (own); uriOwned caches the copies of sc.uris by index.
	owning       bool
	srcLo, srcHi uintptr
	arena        []byte
	uriOwned     []string
	elems        []Element
	kids         []*Element
	eattrs       []Attr
	open         []*Element

	// Text of elements with several direct text runs (whitespace around
	// child elements) is concatenated into the arena and made strings at
	// the end: concat records (element, start, end).
	multi  []int32 // per open element: its start token, negated-1 once it has a second text run
	concat []textSpan

	siBuf []byte // pooled output buffer for SignedInfo, hashed and dropped

	stackBuf [8]nsDecl
	marksBuf [24]int32
	nsBufBuf [8]nsDecl
	atBufBuf [8]attr
	openBuf  [24]*Element
	multiBuf [24]int32
	spanBuf  [8]textSpan
	uriBuf   [8]string
}

type textSpan struct {
	e          *Element
	start, end int
}

func newCanon(sc *scanner, exclusive bool, outCap int) *canon {
	c := new(canon)
	c.init(sc, exclusive, outCap)
	return c
}

// canonPool holds canons for Document.Verify, with their SignedInfo buffer.
var canonPool = sync.Pool{New: func() any { return new(canon) }}

// init points c at sc's tokens and resets it.
func (c *canon) init(sc *scanner, exclusive bool, outCap int) {
	c.sc, c.toks, c.attrs, c.decls = sc, sc.toks, sc.attrs, sc.decls
	c.reset(exclusive, outCap)
}

// put returns c to canonPool without any reference to the document or the
// tree it built (both belong to the caller now).
func (c *canon) put() {
	si := c.siBuf
	if cap(si) > maxPooledOut {
		si = nil
	}
	*c = canon{siBuf: si[:0]}
	canonPool.Put(c)
}

// reset prepares c for another run with a fresh output buffer (the previous
// one may have been handed out).
func (c *canon) reset(exclusive bool, outCap int) {
	c.exclusive = exclusive
	c.emit = true
	c.out = nil
	if outCap > 0 {
		c.out = make([]byte, 0, outCap)
	}
	c.stack = c.stackBuf[:0]
	c.marks = c.marksBuf[:0]
	c.nsBuf = c.nsBufBuf[:0]
	c.atBuf = c.atBufBuf[:0]
	c.build = false
	c.nsLimit, c.nsBytes, c.over = 0, 0, false
}

// treeOnly makes run build the tree of the document minus the subtree at
// skip, without canonical output (Verify wrote and checked the canonical
// form first).
func (c *canon) treeOnly(nElems, nAttrs int, skip int32) {
	c.emit = false
	c.out = nil
	c.enableTree(nElems, nAttrs, skip)
}

// smallTree backs the Element tree of a typical DUIS request (about ten
// elements outside the signature) and its strings in one allocation
// instead of five; the tree outlives Verify, so it is never pooled.
type smallTree struct {
	elems [smallTreeElems]Element
	kids  [smallTreeElems]*Element
	attrs [smallTreeAttrs]Attr
	arena [smallTreeArena]byte // the tree's copies of source strings (canon.own)
}

// The sizes fill the 1536-byte allocation size class exactly (an SR 1.6
// Credit request: 9 elements, 1 attribute, about 300 bytes of names and
// texts); TestSmallTreeSize keeps it so.
const (
	smallTreeElems = 10
	smallTreeAttrs = 2
	smallTreeArena = 400
)

// enableTree makes run build Elements of the document minus the subtree
// at skip, sized for at most nElems elements with nAttrs attributes in
// all, and (owning) an arena of exactly the bytes run copies into it
// (arenaSize): left to append, the arena grew a quarter at a time, each
// step a copy left behind, so a signed document of long texts or
// attribute values allocated five times their size for it.
func (c *canon) enableTree(nElems, nAttrs int, skip int32) {
	c.build = true
	c.owning = c.sc.aliased
	if c.owning {
		c.srcLo = uintptr(unsafe.Pointer(unsafe.StringData(c.sc.s)))
		c.srcHi = c.srcLo + uintptr(len(c.sc.s))
	}
	arena := 0
	if c.owning {
		arena = c.arenaSize(skip)
	}
	if nElems <= smallTreeElems && nAttrs <= smallTreeAttrs {
		t := new(smallTree)
		c.elems, c.kids, c.eattrs = t.elems[:nElems], t.kids[:nElems], t.attrs[:nAttrs]
		c.arena = t.arena[:0]
	} else {
		c.elems = make([]Element, nElems)
		c.kids = make([]*Element, nElems)
		c.eattrs = make([]Attr, nAttrs)
		c.arena = nil
	}
	if arena > cap(c.arena) {
		c.arena = make([]byte, 0, arena)
	}
	if c.owning {
		if len(c.sc.uris) <= len(c.uriBuf) {
			c.uriOwned = c.uriBuf[:len(c.sc.uris)]
		} else {
			c.uriOwned = make([]string, len(c.sc.uris))
		}
	}
	c.open = c.openBuf[:0]
	c.multi = c.multiBuf[:0]
	c.concat = c.spanBuf[:0]
}

// arenaSize is the bytes run copies into the arena (own, concatText)
// building the tree of the document minus the subtree at skip: each
// namespace URI used once, element and attribute local names, attribute
// values and texts that are views of the source, and the direct texts of
// an element with several text runs once more, all of them, concatenated.
// TestArenaSizeExact keeps it equal to what run uses.
func (c *canon) arenaSize(skip int32) int {
	n := 0
	var used [256]bool
	uri := func(ref int32) {
		if ref < int32(len(used)) && !used[ref] {
			used[ref] = true
			n += c.srcLen(c.sc.uris[ref])
		} else if ref >= int32(len(used)) {
			n += c.srcLen(c.sc.uris[ref]) // counted per use: more than enough
		}
	}
	// Per open element: its first text run's owned bytes, all its runs'
	// bytes, and how many runs.
	type runs struct{ first, all, k int }
	var buf [32]runs
	open := buf[:0]
	end := c.toks[0].end
	for i := int32(0); i <= end; i++ {
		if i == skip {
			i = c.toks[skip].end
			continue
		}
		switch t := &c.toks[i]; t.kind {
		case tStart:
			uri(t.ref)
			n += c.srcLen(c.sc.localOf(t))
			for k := t.attrLo; k < t.attrHi; k++ {
				a := &c.attrs[k]
				uri(int32(a.ref))
				n += c.srcLen(c.sc.attrLocal(a))
				if !a.dec {
					n += c.srcLen(c.sc.attrValue(a))
				}
			}
			open = append(open, runs{})
		case tText:
			r := &open[len(open)-1]
			text := c.sc.textOf(t)
			if r.k == 0 {
				r.first = c.srcLen(text)
			}
			r.all += len(text)
			r.k++
		case tEnd:
			r := open[len(open)-1]
			open = open[:len(open)-1]
			n += r.first
			if r.k > 1 {
				n += r.all
			}
		}
	}
	return n
}

// srcLen is the length of s when own would copy it (a view of the source),
// else 0.
func (c *canon) srcLen(s string) int {
	if s == "" {
		return 0
	}
	if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p < c.srcLo || p >= c.srcHi {
		return 0
	}
	return len(s)
}

// own returns s, copied into the arena when it is a view of the source
// bytes (owning). Strings made by decoding are the package's own already.
// The arena only grows by append: a string handed out is never written to
// again, even when a later append moves the arena elsewhere.
func (c *canon) own(s string) string {
	if !c.owning || s == "" {
		return s
	}
	if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p < c.srcLo || p >= c.srcHi {
		return s
	}
	n := len(c.arena)
	c.arena = append(c.arena, s...)
	return unsafe.String(&c.arena[n], len(s))
}

// spaceOf is the namespace URI of t for the tree (uriOf).
func (c *canon) spaceOf(t *token) string { return c.uriOf(t.ref) }

// uriOf is scanner.uris[ref] for the tree, owned (own) once per URI.
func (c *canon) uriOf(ref int32) string {
	if !c.owning {
		return c.sc.uris[ref]
	}
	u := &c.uriOwned[ref]
	if *u == "" {
		*u = c.own(c.sc.uris[ref])
	}
	return *u
}

func (c *canon) lookup(prefix string) string {
	for i := len(c.stack) - 1; i >= 0; i-- {
		if c.stack[i].prefix == prefix {
			return c.stack[i].uri
		}
	}
	return ""
}

// run canonicalises the subtree whose start token is apex, leaving out the
// subtree whose start token is skip (-1 for none). It returns the root
// Element when building.
func (c *canon) run(apex, skip int32) *Element {
	var root *Element
	nElem, nKid, nAttr := 0, 0, 0
	end := c.toks[apex].end
	for i := apex; i <= end; i++ {
		if c.over {
			return nil
		}
		if i == skip {
			i = c.toks[skip].end
			continue
		}
		t := &c.toks[i]
		switch t.kind {
		case tText:
			text := c.sc.textOf(t)
			if c.emit {
				c.out = appendText(c.out, text)
			}
			if c.build {
				n := len(c.open) - 1
				if e := c.open[n]; e.Text == "" {
					e.Text = c.own(text)
				} else if c.multi[n] >= 0 {
					c.multi[n] = -c.multi[n] - 1
				}
			}
		case tEnd:
			if c.emit {
				c.out = append(c.out, "</"...)
				c.out = append(c.out, c.sc.qnameOf(t)...)
				c.out = append(c.out, '>')
				c.stack = c.stack[:c.marks[len(c.marks)-1]]
				c.marks = c.marks[:len(c.marks)-1]
			}
			if c.build {
				n := len(c.open) - 1
				if m := c.multi[n]; m < 0 {
					c.concatText(c.open[n], -m-1)
				}
				c.open = c.open[:n]
				c.multi = c.multi[:n]
			}
		case tStart:
			if c.emit {
				c.startTag(t)
			}
			if c.build {
				e := &c.elems[nElem]
				nElem++
				e.Space, e.Local = c.spaceOf(t), c.own(c.sc.localOf(t))
				n := int(t.attrHi - t.attrLo)
				if n > 0 {
					as := c.eattrs[nAttr : nAttr+n : nAttr+n]
					for k := range as {
						a := &c.attrs[t.attrLo+int32(k)]
						as[k] = Attr{Space: c.uriOf(int32(a.ref)), Local: c.own(c.sc.attrLocal(a)), Value: c.own(c.sc.attrValue(a))}
					}
					e.Attrs = as
					nAttr += n
				}
				if t.nChild > 0 {
					e.Children = c.kids[nKid : nKid : nKid+int(t.nChild)]
					nKid += int(t.nChild)
				}
				if len(c.open) > 0 {
					p := c.open[len(c.open)-1]
					p.Children = append(p.Children, e)
				} else {
					root = e
				}
				c.open = append(c.open, e)
				c.multi = append(c.multi, i)
			}
		}
	}
	if len(c.concat) > 0 {
		// The arena only grew: its final bytes hold every span.
		all := unsafe.String(unsafe.SliceData(c.arena), len(c.arena))
		for _, sp := range c.concat {
			sp.e.Text = all[sp.start:sp.end]
		}
		c.concat = c.concat[:0]
	}
	return root
}

// concatText gathers the direct text runs of the element whose start token
// is start, skipping child subtrees, into the arena (the tree's own
// memory, append-only, so the text is made a string without a copy).
func (c *canon) concatText(e *Element, start int32) {
	from := len(c.arena)
	for j := start + 1; j < c.toks[start].end; j++ {
		switch t := &c.toks[j]; t.kind {
		case tText:
			c.arena = append(c.arena, c.sc.textOf(t)...)
		case tStart:
			j = t.end
		}
	}
	c.concat = append(c.concat, textSpan{e, from, len(c.arena)})
}

func (c *canon) startTag(t *token) {
	c.out = append(c.out, '<')
	c.out = append(c.out, c.sc.qnameOf(t)...)

	// Namespace declarations to render, then push them for descendants.
	ns := c.nsBuf[:0]
	mark := int32(len(c.stack))
	if c.exclusive {
		if p := c.sc.prefixOf(t); p != "xml" {
			ns = c.visiblyUsed(ns, p, c.sc.spaceOf(t))
		}
		for k := t.attrLo; k < t.attrHi; k++ {
			a := &c.attrs[k]
			if p := c.sc.attrPrefix(a); p != "" && p != "xml" {
				ns = c.visiblyUsed(ns, p, c.sc.attrSpace(a))
			}
		}
	} else {
		for _, d := range c.decls[t.nsLo:t.nsHi] {
			if c.lookup(d.prefix) != d.uri {
				ns = append(ns, d)
			}
		}
	}
	sortNS(ns)
	for _, d := range ns {
		if c.nsLimit > 0 {
			if c.nsBytes += len(d.prefix) + len(d.uri); c.nsBytes > c.nsLimit {
				c.over = true
				return
			}
		}
		if d.prefix == "" {
			c.out = append(c.out, ` xmlns="`...)
		} else {
			c.out = append(c.out, ` xmlns:`...)
			c.out = append(c.out, d.prefix...)
			c.out = append(c.out, `="`...)
		}
		c.out = appendValue(c.out, d.uri, d.esc)
		c.out = append(c.out, '"')
	}
	if c.exclusive {
		c.stack = append(c.stack, ns...)
	} else {
		// Inclusive tracks what is in scope, rendered or not.
		c.stack = append(c.stack, c.decls[t.nsLo:t.nsHi]...)
	}
	c.marks = append(c.marks, mark)
	c.nsBuf = ns

	if as := c.attrs[t.attrLo:t.attrHi]; len(as) > 0 {
		if len(as) > 1 { // one attribute is in order already
			as = append(c.atBuf[:0], as...)
			c.sc.sortAttrs(as)
			c.atBuf = as
		}
		out := c.out // one store of the slice header, not one per append
		for k := range as {
			a := &as[k]
			out = append(out, ' ')
			out = append(out, c.sc.attrQName(a)...)
			out = append(out, `="`...)
			out = appendValue(out, c.sc.attrValue(a), a.esc)
			out = append(out, '"')
		}
		c.out = out
	}
	c.out = append(c.out, '>')
}

// visiblyUsed adds the binding prefix->uri to ns unless the nearest output
// ancestor rendered it already (or it is the implicit empty default).
func (c *canon) visiblyUsed(ns []nsDecl, prefix, uri string) []nsDecl {
	for _, d := range ns {
		if d.prefix == prefix {
			return ns
		}
	}
	if c.lookup(prefix) == uri {
		return ns
	}
	return append(ns, nsDecl{prefix: prefix, uri: uri, esc: true})
}

// sortNS orders declarations by prefix (the default, "", first). Lists are
// tiny, so insertion sort without allocation.
func sortNS(ns []nsDecl) {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j].prefix < ns[j-1].prefix; j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
}

// sortAttrs orders one element's attributes by namespace URI, then local
// name. An insertion sort made an element of MaxAttrs attributes cost
// their square (TestAttrCostFlat); beyond smallAttrs attributes the sort
// is O(n log n) on integer keys: the namespace's rank among the element's
// namespaces, then the local name's first seven bytes (a name holds no
// zero byte, so zero padding orders a prefix first, as string comparison
// does), the whole names compared only when those tie. The scan refused
// duplicates, so no two attributes compare equal and the order is the one
// a stable sort gives.
func (sc *scanner) sortAttrs(as []attr) {
	if len(as) <= smallAttrs || len(as) > len(attrNames{}.slot)/2 || len(sc.uris) > 256 {
		for i := 1; i < len(as); i++ {
			for j := i; j > 0 && sc.attrLess(&as[j], &as[j-1]); j-- {
				as[j], as[j-1] = as[j-1], as[j]
			}
		}
		return
	}
	// rank[ref]: the order of the namespace among the element's ones; all
	// zero when they share one (the usual case).
	var rank [256]uint8
	one := true
	for k := range as {
		one = one && as[k].ref == as[0].ref
	}
	if !one {
		var refs [64]uint16
		for k := range as {
			refs[k] = as[k].ref
		}
		rs := refs[:len(as)]
		slices.Sort(rs)
		rs = slices.Compact(rs)
		slices.SortFunc(rs, func(a, b uint16) int { return strings.Compare(sc.uris[a], sc.uris[b]) })
		for r, ref := range rs {
			rank[ref] = uint8(r)
		}
	}
	type sortKey struct {
		k uint64
		i uint8
	}
	var keys [64]sortKey
	var orig [64]attr
	copy(orig[:], as)
	for k := range as {
		l := sc.attrLocal(&as[k])
		v := uint64(rank[as[k].ref]) << 56
		for j := range min(len(l), 7) {
			v |= uint64(l[j]) << (48 - 8*j)
		}
		keys[k] = sortKey{v, uint8(k)}
	}
	ks := keys[:len(as)]
	slices.SortFunc(ks, func(a, b sortKey) int {
		if a.k != b.k {
			if a.k < b.k {
				return -1
			}
			return 1
		}
		return strings.Compare(sc.attrLocal(&orig[a.i]), sc.attrLocal(&orig[b.i]))
	})
	for k, key := range ks {
		as[k] = orig[key.i]
	}
}

// attrLess is the c14n order of two attributes: namespace URI, then local
// name.
func (sc *scanner) attrLess(a, b *attr) bool {
	if a.ref != b.ref {
		return sc.uris[a.ref] < sc.uris[b.ref]
	}
	return sc.attrLocal(a) < sc.attrLocal(b)
}
