package xmldsig

import (
	"errors"
	"fmt"
)

// Limits bound the work Parse does before any cryptography. A document that
// exceeds one is rejected with ErrMalformed. To Parse, a zero or negative
// field means "use the default" for that field, so a partly filled Limits
// is safe, and a field above its ceiling (MaxLimits) counts as the
// ceiling: Parse never works past the ceilings. A caller taking Limits
// from its own user should refuse what Check refuses rather than let
// Parse quietly use something else (verifier.New does).
type Limits struct {
	MaxBytes    int // whole document, in bytes
	MaxDepth    int // element nesting; the document element is depth 1
	MaxAttrs    int // attributes per element, namespace declarations included
	MaxNSDecls  int // namespace declarations in the whole document
	MaxElements int // elements in the whole document
}

// DefaultLimits returns limits generous for any DUIS Service Request (the
// largest SR bodies, tariff blocks, are a few hundred elements and under
// 64 KiB): MaxBytes 1 MiB, MaxDepth 32, MaxAttrs 16, MaxNSDecls 32,
// MaxElements 4096. What the worst hostile documents measured cost at them
// (Parse+Verify, refused at the signature; BenchmarkHostile on the 2-core
// development machine, thread CPU time, which varied about twofold with
// the machine's other load): 6 to 16 ms of one core, and 3 MB allocated
// for 4,095 elements of 16 attributes (340 KB), at most 8.8 MB for any
// (1 MiB of character data cut into runs). For the hostile shapes of
// TestHostileAllocation (attribute-heavy, a canonical form up to six times
// the document, character data in runs), allocation stays within 10 times
// the document's size at these limits and at MaxLimits, and it is held
// until the document is released: a caller parsing N documents at once
// should budget N x 10 x MaxBytes. Validly signed by a trusted signer, the
// same documents also get their Element tree: at most 21 times their size
// for the attribute-heavy shapes, 10 for the others (TestSignedAllocation),
// so N x 21 x MaxBytes when the signers are trusted but careless.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxAttrs: 16, MaxNSDecls: 32, MaxElements: 4096}
}

// MaxLimits returns the hard ceilings, four times each default: MaxBytes
// 4 MiB, MaxDepth 128, MaxAttrs 64, MaxNSDecls 128, MaxElements 16384. Why
// these: the work of a hostile document grows with all five at once (the
// number of attributes it can carry is about MaxElements x MaxAttrs, and
// each costs scan time and memory), and at the ceilings the worst
// documents measured (16,384 elements of 64 attributes, 4 MiB; attribute
// values of '"') cost 33 to 62 ms of one core and 29 MB allocated (35 MB
// at most, for character data cut into runs) on the 2-core development
// machine, against 6 to 16 ms and 3 to 8.8 MB at the defaults; a Service
// Request is 16 to 64 times below the defaults already. Beyond them one
// request could hold a core for a quarter of a second and more.
func MaxLimits() Limits {
	return Limits{MaxBytes: 4 << 20, MaxDepth: 128, MaxAttrs: 64, MaxNSDecls: 128, MaxElements: 16384}
}

// ErrLimits: a Limits that Check refuses (a field negative or above its
// ceiling). Check's errors are a *LimitsError.
var ErrLimits = errors.New("E_XMLDSIG_LIMITS")

// LimitsError names the field of Limits that Check refuses.
type LimitsError struct {
	Field   string // "MaxBytes", ...
	Value   int    // as given
	Ceiling int    // MaxLimits' value for Field
	Default int    // DefaultLimits' value for Field
}

// Reason is the sentence without the code: what is wrong and what to set.
func (e *LimitsError) Reason() string {
	if e.Value < 0 {
		return fmt.Sprintf("Limits.%s %d is negative: set it to zero for the default %d, or to at most %d (there is no unlimited)",
			e.Field, e.Value, e.Default, e.Ceiling)
	}
	return fmt.Sprintf("Limits.%s %d is above its ceiling %d (xmldsig.MaxLimits): set it to at most %d, or to zero for the default %d",
		e.Field, e.Value, e.Ceiling, e.Ceiling, e.Default)
}

func (e *LimitsError) Error() string        { return ErrLimits.Error() + ": " + e.Reason() }
func (e *LimitsError) Is(target error) bool { return target == ErrLimits }

// Check refuses (a *LimitsError, ErrLimits) the first field of l, in the
// order of the struct, that is negative or above its ceiling (MaxLimits).
// Zero (the default) and the ceiling itself are taken.
func (l Limits) Check() error {
	d, c := DefaultLimits(), MaxLimits()
	for _, f := range []struct {
		name          string
		v, ceil, dflt int
	}{
		{"MaxBytes", l.MaxBytes, c.MaxBytes, d.MaxBytes},
		{"MaxDepth", l.MaxDepth, c.MaxDepth, d.MaxDepth},
		{"MaxAttrs", l.MaxAttrs, c.MaxAttrs, d.MaxAttrs},
		{"MaxNSDecls", l.MaxNSDecls, c.MaxNSDecls, d.MaxNSDecls},
		{"MaxElements", l.MaxElements, c.MaxElements, d.MaxElements},
	} {
		if f.v < 0 || f.v > f.ceil {
			return &LimitsError{Field: f.name, Value: f.v, Ceiling: f.ceil, Default: f.dflt}
		}
	}
	return nil
}

// withDefaults gives each field its default when zero or negative, and
// its ceiling when above it.
func (l Limits) withDefaults() Limits {
	l = Limits{
		MaxBytes: min(l.MaxBytes, maxLimits.MaxBytes), MaxDepth: min(l.MaxDepth, maxLimits.MaxDepth),
		MaxAttrs: min(l.MaxAttrs, maxLimits.MaxAttrs), MaxNSDecls: min(l.MaxNSDecls, maxLimits.MaxNSDecls),
		MaxElements: min(l.MaxElements, maxLimits.MaxElements),
	}
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

var maxLimits = MaxLimits()
