package policy

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes e in the file format (docs/policy.md), canonically:
// variants in DUIS order, one per line, roles in role.All order. The
// embedded default file is exactly MarshalJSON(Default()), and
// Parse(MarshalJSON(e)) equals e.
func (e *Eligibility) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	str := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode appends a newline
		return nil
	}
	buf.WriteString("{\n  \"version\": 1,\n  \"variants\": {\n")
	for i, v := range e.Variants() {
		if i > 0 {
			buf.WriteString(",\n")
		}
		buf.WriteString("    ")
		if err := str(v.SRV); err != nil {
			return nil, err
		}
		buf.WriteString(": {\"name\": ")
		if err := str(v.Name); err != nil {
			return nil, err
		}
		if v.Critical {
			buf.WriteString(", \"critical\": true, \"roles\": [")
		} else {
			buf.WriteString(", \"critical\": false, \"roles\": [")
		}
		for j, r := range e.Roles(v.SRV) {
			if j > 0 {
				buf.WriteString(", ")
			}
			if err := str(string(r)); err != nil {
				return nil, err
			}
		}
		buf.WriteString("]}")
	}
	buf.WriteString("\n  }\n}\n")
	return buf.Bytes(), nil
}
