package xmldsig

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
	toks  []token
	attrs []attr
	decls []nsDecl

	exclusive bool
	out       []byte

	stack []nsDecl // exclusive: rendered bindings; inclusive: in-scope bindings
	marks []int32

	nsBuf []nsDecl
	atBuf []attr

	build  bool
	elems  []Element
	kids   []*Element
	eattrs []Attr
	open   []*Element
}

func newCanon(sc *scanner, exclusive bool, outCap int) *canon {
	return &canon{
		toks: sc.toks, attrs: sc.attrs, decls: sc.decls,
		exclusive: exclusive,
		out:       make([]byte, 0, outCap),
		stack:     make([]nsDecl, 0, 8),
		marks:     make([]int32, 0, 16),
		nsBuf:     make([]nsDecl, 0, 8),
		atBuf:     make([]attr, 0, 8),
	}
}

// enableTree makes run build Elements, sized for at most nElems elements.
func (c *canon) enableTree(nElems int) {
	c.build = true
	c.elems = make([]Element, nElems)
	c.kids = make([]*Element, nElems)
	c.eattrs = make([]Attr, len(c.attrs))
	c.open = make([]*Element, 0, 16)
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
		if i == skip {
			i = c.toks[skip].end
			continue
		}
		t := &c.toks[i]
		switch t.kind {
		case tText:
			c.out = appendText(c.out, t.text)
			if c.build {
				e := c.open[len(c.open)-1]
				if e.Text == "" {
					e.Text = t.text
				} else {
					e.Text += t.text
				}
			}
		case tEnd:
			c.out = append(c.out, "</"...)
			c.out = appendQName(c.out, t.prefix, t.local)
			c.out = append(c.out, '>')
			c.stack = c.stack[:c.marks[len(c.marks)-1]]
			c.marks = c.marks[:len(c.marks)-1]
			if c.build {
				c.open = c.open[:len(c.open)-1]
			}
		case tStart:
			c.startTag(t)
			if c.build {
				e := &c.elems[nElem]
				nElem++
				e.Space, e.Local = t.space, t.local
				n := int(t.attrHi - t.attrLo)
				if n > 0 {
					as := c.eattrs[nAttr : nAttr+n : nAttr+n]
					for k, a := range c.attrs[t.attrLo:t.attrHi] {
						as[k] = Attr{Space: a.space, Local: a.local, Value: a.value}
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
			}
		}
	}
	return root
}

func appendQName(b []byte, prefix, local string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	return append(b, local...)
}

func (c *canon) startTag(t *token) {
	c.out = append(c.out, '<')
	c.out = appendQName(c.out, t.prefix, t.local)

	// Namespace declarations to render, then push them for descendants.
	ns := c.nsBuf[:0]
	mark := int32(len(c.stack))
	if c.exclusive {
		ns = c.visiblyUsed(ns, t.prefix, t.space)
		for _, a := range c.attrs[t.attrLo:t.attrHi] {
			if a.prefix != "" && a.prefix != "xml" {
				ns = c.visiblyUsed(ns, a.prefix, a.space)
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
		if d.prefix == "" {
			c.out = append(c.out, ` xmlns="`...)
		} else {
			c.out = append(c.out, ` xmlns:`...)
			c.out = append(c.out, d.prefix...)
			c.out = append(c.out, `="`...)
		}
		c.out = appendAttrValue(c.out, d.uri)
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

	as := append(c.atBuf[:0], c.attrs[t.attrLo:t.attrHi]...)
	sortAttrs(as)
	for _, a := range as {
		c.out = append(c.out, ' ')
		c.out = appendQName(c.out, a.prefix, a.local)
		c.out = append(c.out, `="`...)
		c.out = appendAttrValue(c.out, a.value)
		c.out = append(c.out, '"')
	}
	c.atBuf = as
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
	return append(ns, nsDecl{prefix, uri})
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

// sortAttrs orders attributes by namespace URI, then local name.
func sortAttrs(as []attr) {
	less := func(a, b *attr) bool {
		if a.space != b.space {
			return a.space < b.space
		}
		return a.local < b.local
	}
	for i := 1; i < len(as); i++ {
		for j := i; j > 0 && less(&as[j], &as[j-1]); j-- {
			as[j], as[j-1] = as[j-1], as[j]
		}
	}
}
