package policy

import (
	"fmt"

	"github.com/smki/smki/internal/strictjson"
	"github.com/smki/smki/role"
)

// FormatVersion is the only version of the eligibility file format.
const FormatVersion = 1

// maxDocument bounds what Parse reads: the default file is about 13 KiB.
const maxDocument = 1 << 20

// fileDoc and fileVariant are the file format (docs/policy.md).
type fileDoc struct {
	Version  *int                   `json:"version"`
	Variants map[string]fileVariant `json:"variants"`
}

type fileVariant struct {
	Name     string   `json:"name"`
	Critical *bool    `json:"critical"`
	Roles    []string `json:"roles"`
}

// Parse reads an eligibility document (docs/policy.md) strictly: one JSON
// object, nothing after it, no unknown field, no key twice in any object,
// version 1, at least one variant; every SRV two or three dot-separated
// numbers; every variant with a name, an explicit critical flag and a roles
// list (possibly empty) of distinct upper-case role codes role.Parse knows.
// Any failure is ErrInvalid (wrapping role.ErrUnknownRole for a bad role).
func Parse(data []byte) (*Eligibility, error) {
	if len(data) > maxDocument {
		return nil, fmt.Errorf("%w: document of %d bytes exceeds %d", ErrInvalid, len(data), maxDocument)
	}
	var doc fileDoc
	if err := strictjson.Decode(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if doc.Version == nil || *doc.Version != FormatVersion {
		return nil, fmt.Errorf("%w: version must be %d", ErrInvalid, FormatVersion)
	}
	if len(doc.Variants) == 0 {
		return nil, fmt.Errorf("%w: no variants", ErrInvalid)
	}
	e := &Eligibility{
		variants: make(map[string]Variant, len(doc.Variants)),
		allow:    make(map[role.UserRole]map[string]struct{}),
	}
	for srv, v := range doc.Variants {
		if !ValidSRV(srv) {
			return nil, fmt.Errorf("%w: %q is not a Service Reference Variant", ErrInvalid, srv)
		}
		if v.Name == "" || v.Critical == nil || v.Roles == nil {
			return nil, fmt.Errorf("%w: variant %s needs name, critical and roles", ErrInvalid, srv)
		}
		e.variants[srv] = Variant{SRV: srv, Name: v.Name, Critical: *v.Critical}
		for _, s := range v.Roles {
			r, err := role.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("%w: variant %s: %w", ErrInvalid, srv, err)
			}
			if string(r) != s {
				return nil, fmt.Errorf("%w: variant %s: role %q must be written %q", ErrInvalid, srv, s, r)
			}
			if _, dup := e.allow[r][srv]; dup {
				return nil, fmt.Errorf("%w: variant %s: role %s twice", ErrInvalid, srv, r)
			}
			if e.allow[r] == nil {
				e.allow[r] = map[string]struct{}{}
			}
			e.allow[r][srv] = struct{}{}
		}
	}
	return e, nil
}
