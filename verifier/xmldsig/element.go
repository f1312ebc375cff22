package xmldsig

// Attr is an attribute of an Element. Space is the resolved namespace URI
// ("" for an unprefixed attribute); Value is entity-decoded and normalised
// as an XML processor does (literal whitespace becomes a space).
// Namespace declarations are not attributes and never appear here.
type Attr struct {
	Space, Local, Value string
}

// Element is one element of a verified document. Space is the resolved
// namespace URI. Text is the concatenated character data directly inside
// the element (entity-decoded, CDATA included, line ends normalised), not
// that of its descendants. Elements are read-only views into a verified
// document; callers must not modify them.
type Element struct {
	Space, Local string
	Attrs        []Attr
	Children     []*Element
	Text         string
}

// Child returns the first child element named {space}local, or nil.
func (e *Element) Child(space, local string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Local == local && c.Space == space {
			return c
		}
	}
	return nil
}

// ChildElements returns the child elements in document order.
func (e *Element) ChildElements() []*Element {
	if e == nil {
		return nil
	}
	return e.Children
}

// Attr returns the value of the attribute {space}local and whether it is
// present.
func (e *Element) Attr(space, local string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attrs {
		if a.Local == local && a.Space == space {
			return a.Value, true
		}
	}
	return "", false
}
