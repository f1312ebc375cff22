package xmldsig

// Limits bound the work Parse does before any cryptography. A document that
// exceeds one is rejected with ErrMalformed. A zero or negative field means
// "use the default" for that field, so a partly filled Limits is safe.
type Limits struct {
	MaxBytes    int // whole document, in bytes
	MaxDepth    int // element nesting; the document element is depth 1
	MaxAttrs    int // attributes per element, namespace declarations included
	MaxNSDecls  int // namespace declarations in the whole document
	MaxElements int // elements in the whole document
}

// DefaultLimits returns limits generous for any DUIS Service Request (the
// largest SR bodies, tariff blocks, are a few hundred elements and under
// 64 KiB) and small enough that a hostile document costs at most
// milliseconds: MaxBytes 1 MiB, MaxDepth 32, MaxAttrs 16, MaxNSDecls 32,
// MaxElements 4096.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxAttrs: 16, MaxNSDecls: 32, MaxElements: 4096}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = d.MaxAttrs
	}
	if l.MaxNSDecls <= 0 {
		l.MaxNSDecls = d.MaxNSDecls
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	return l
}
