package ra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
func noDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if k, ok := tok.(string); ok {
				f := foldKey(k)
				if top.keys[f] {
					return fmt.Errorf("member %q appears twice in one object", k)
				}
				top.keys[f] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value (scalar or a closed container) completes a member.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// foldKey maps every rune of k to the least rune of its simple case-fold
// orbit, so that two names equal under strings.EqualFold fold alike.
func foldKey(k string) string {
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
