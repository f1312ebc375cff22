package ra

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// noDuplicateKeys fails if any JSON object in data names a member twice.
// encoding/json silently keeps the last of duplicate members, and matches
// member names case-insensitively, so {"serial":"A","Serial":"B"} means B
// to the RA but may mean A to a proxy, a log reader or the officer who
// read (and signed) the file. A request or signed file must have one
// meaning (h14). Names are compared under Unicode simple case folding,
// which is how encoding/json matches them to fields.
//
// It scans data in place and materialises only member names (string
// values, which may be tens of MiB in a device import, are skipped, not
// copied), so checking costs little beyond the body itself. It expects
// JSON that has already decoded (callers decode first) and fails on
// structure it cannot follow.
func noDuplicateKeys(data []byte) error {
	type frame struct {
		obj  bool
		keys []string        // folded names, while few
		set  map[string]bool // folded names, once many
	}
	const fewKeys = 8
	var stack []frame
	wantKey := false
	for i := 0; i < len(data); {
		switch c := data[i]; c {
		case '{', '[':
			stack = append(stack, frame{obj: c == '{'})
			wantKey = c == '{'
			i++
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1].obj != (c == '}') {
				return fmt.Errorf("unbalanced %q at offset %d", c, i)
			}
			stack = stack[:len(stack)-1]
			wantKey = false
			i++
		case ',':
			wantKey = len(stack) > 0 && stack[len(stack)-1].obj
			i++
		case '"':
			end, escaped, err := stringEnd(data, i)
			if err != nil {
				return err
			}
			if wantKey {
				name := string(data[i+1 : end-1])
				if escaped {
					if err := json.Unmarshal(data[i:end], &name); err != nil {
						return fmt.Errorf("member name at offset %d: %v", i, err)
					}
				}
				f := foldKey(name)
				top := &stack[len(stack)-1]
				switch {
				case top.set != nil:
					if top.set[f] {
						return fmt.Errorf("member %q appears twice in one object", name)
					}
					top.set[f] = true
				default:
					for _, k := range top.keys {
						if k == f {
							return fmt.Errorf("member %q appears twice in one object", name)
						}
					}
					top.keys = append(top.keys, f)
					if len(top.keys) > fewKeys {
						top.set = make(map[string]bool, 2*fewKeys)
						for _, k := range top.keys {
							top.set[k] = true
						}
						top.keys = nil
					}
				}
				wantKey = false
			}
			i = end
		default:
			i++ // whitespace, ':', numbers, true, false, null
		}
	}
	if len(stack) != 0 {
		return errors.New("unexpected end of JSON")
	}
	return nil
}

// stringEnd returns the offset just past the string starting at data[i]
// (a '"') and whether it holds escapes.
func stringEnd(data []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, fmt.Errorf("unterminated string at offset %d", i)
}

// foldKey maps every rune of k to the least rune of its simple case-fold
// orbit, so that two names equal under strings.EqualFold fold alike.
func foldKey(k string) string {
	ascii := true
	for i := 0; i < len(k); i++ {
		if k[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		// An ASCII letter's fold orbit is {upper, lower} plus, for k and
		// s, a non-ASCII rune (KELVIN SIGN, LONG S) above both: the least
		// is the upper case.
		return strings.ToUpper(k)
	}
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		return m
	}, k)
}
