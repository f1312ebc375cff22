// Package strictjson owns the one rule by which smki reads JSON that
// someone else wrote: request bodies, the signed files officers submit
// (ADT, eligibility policy) and the RA's signed envelopes (bundle, feed).
// A document must have exactly one meaning, to smki and to every other
// reader (a proxy, a log reader, the officer who read and signed it), so
// Decode refuses what encoding/json would quietly resolve:
//
//   - bytes that are not UTF-8 (encoding/json replaces them with U+FFFD);
//   - anything but exactly one JSON value (trailing data);
//   - a member name twice in one object, compared under Unicode simple case
//     folding ({"serial":"A","Serial":"B"}: encoding/json keeps the last);
//   - a member of a struct that is not spelled exactly as its field
//     (encoding/json matches names case-insensitively, so "SERIAL" would
//     set serial for smki and be ignored by a case-sensitive reader);
//   - a member no field takes (unknown fields);
//   - nesting deeper than MaxDepth.
//
// It does not limit size: callers bound what they read before calling it.
// Errors are plain sentences without a code; each caller wraps them in its
// own (E_RA_BAD_REQUEST, E_RA_ADT_FORMAT, E_POLICY_INVALID,
// E_ENVELOPE_FORMAT, ...). The package imports only the standard library,
// so the verifier may use it without growing its dependency list.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays Decode accepts.
// smki's formats nest a few levels; the limit only bounds hostile input.
const MaxDepth = 64

// Decode parses data, which must be exactly one JSON value, into v (a
// non-nil pointer), refusing everything the package comment lists.
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictjson: Decode needs a non-nil pointer, not %T", v)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("not valid UTF-8 at %s", Position(data, invalidUTF8At(data)))
	}
	if !json.Valid(data) {
		return syntaxError(data)
	}
	sizes, err := scan(data, rv.Type().Elem())
	if err != nil {
		return err
	}
	presizeSlices(rv, sizes)
	// scan has refused every member no field takes, so Unmarshal, which
	// reads data in place, is enough: a json.Decoder with
	// DisallowUnknownFields would copy data into a buffer it grows by
	// doubling (half a gigabyte for a bundle of a million devices).
	// FuzzScanRefusesUnknownMembers holds scan to DisallowUnknownFields.
	if err := json.Unmarshal(data, v); err != nil {
		return decodeError(data, err)
	}
	return nil
}

// Position says where byte i of data is as a person editing the file
// finds it: "line L, column C", both from 1, C counted in characters
// (runes) from the line's start. Every position an error of this package
// gives is said so, never as a byte offset: the files it reads (ADT
// files, policies, device lists) are written by hand, over many lines.
func Position(data []byte, i int) string {
	i = max(0, min(i, len(data)))
	line, start := 1, 0
	for j := 0; j < i; j++ {
		if data[j] == '\n' {
			line, start = line+1, j+1
		}
	}
	return fmt.Sprintf("line %d, column %d", line, utf8.RuneCount(data[start:i])+1)
}

func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// syntaxError says why data (valid UTF-8) is not one JSON value.
func syntaxError(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("no JSON value")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// encoding/json's wording ("invalid character 'b' looking for
			// beginning of value") is said in smki's: what and where.
			if o := int(se.Offset); o >= 1 && o <= len(data) {
				r, _ := utf8.DecodeRune(data[o-1:])
				return fmt.Errorf("not JSON (unexpected %q at %s)", string(r), Position(data, o-1))
			}
			return fmt.Errorf("not JSON (unexpected input at %s)", Position(data, int(se.Offset)))
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return errors.New("not JSON (the value is cut short)")
		}
		return fmt.Errorf("not JSON (%s)", strings.TrimPrefix(err.Error(), "json: "))
	}
	at := int(dec.InputOffset())
	for at < len(data) && isSpace(data[at]) {
		at++
	}
	return fmt.Errorf("data after the JSON value at %s", Position(data, at))
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decodeError words an encoding/json decoding error of data without its
// "json: " prefix or Go type names where it can, saying where the value
// of the wrong type starts.
func decodeError(data []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		at := Position(data, valueStart(data, int(te.Offset)))
		if te.Field != "" {
			return fmt.Errorf("member %q: a JSON %s is not allowed here (at %s)", te.Field, te.Value, at)
		}
		return fmt.Errorf("a JSON %s is not allowed here (at %s)", te.Value, at)
	}
	var be base64.CorruptInputError
	if errors.As(err, &be) {
		return fmt.Errorf("a string that must hold bytes is not standard base64 (with padding): its character %d is wrong", int64(be)+1)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

// valueStart is the offset of the first byte of the value that
// encoding/json's UnmarshalTypeError places at off: just past the '{' or
// '[' of an object or array, just past the end of a string or other
// literal. data is valid JSON.
func valueStart(data []byte, off int) int {
	off = max(0, min(off, len(data)))
	if off == 0 {
		return 0
	}
	switch data[off-1] {
	case '{', '[':
		return off - 1
	case '"':
		// Back to the opening quote: the nearest '"' before the closing
		// one that an even number of backslashes precedes.
		for j := off - 2; j >= 0; j-- {
			if data[j] != '"' {
				continue
			}
			n := 0
			for k := j - 1; k >= 0 && data[k] == '\\'; k-- {
				n++
			}
			if n%2 == 0 {
				return j
			}
		}
		return 0
	}
	j := off
	for j > 0 && !isSpace(data[j-1]) && !strings.ContainsRune(":,[{", rune(data[j-1])) {
		j--
	}
	return j
}

// frame is one open object or array during scan.
type frame struct {
	obj bool
	// fields are the exact member names of the struct this object fills,
	// with their types; nil when the object is not a struct (a map, an
	// interface, a type with its own UnmarshalJSON).
	fields map[string]reflect.Type
	elem   reflect.Type // a map's or array's element type; nil if unknown
	next   reflect.Type // the type of the member value after the last name
	// names are the object's member names while there are at most
	// fewKeys of them, each a slice of the document (no copy); then set
	// holds them folded (foldKey).
	names [fewKeys][]byte
	n     int
	set   map[string]bool
	// name is the member of the top-level object an array is the value
	// of (empty for any other array), and elems counts its elements so
	// far (scan's sizes).
	name  []byte
	elems int
}

const fewKeys = 8

// scan walks data (valid JSON, checked by the caller) once, in place:
// member names are materialised, string values are skipped, not copied,
// which matters for a device import of tens of MiB in one string. t is the
// type the top-level value decodes into.
func scan(data []byte, t reflect.Type) (sizes map[string]int, err error) {
	var stack []frame
	wantKey := false
	var lastName []byte // the last member name of the top-level object
	// element notes a value starting at data[i] in the innermost frame:
	// an element of an array counts.
	element := func() {
		if n := len(stack); n > 0 && !stack[n-1].obj {
			stack[n-1].elems++
		}
	}
	valueType := func() reflect.Type {
		if len(stack) == 0 {
			return t
		}
		top := &stack[len(stack)-1]
		if top.obj {
			return top.next
		}
		return top.elem
	}
	for i := 0; i < len(data); {
		switch c := data[i]; c {
		case '{', '[':
			if len(stack) == MaxDepth {
				return nil, fmt.Errorf("nested deeper than %d at %s", MaxDepth, Position(data, i))
			}
			element()
			f := frame{obj: c == '{'}
			if c == '[' && len(stack) == 1 && stack[0].obj {
				f.name = lastName
			}
			vt := target(valueType())
			if vt != nil {
				switch k := vt.Kind(); {
				case c == '{' && k == reflect.Struct:
					f.fields = fieldsOf(vt)
				case c == '{' && k == reflect.Map, c == '[' && (k == reflect.Slice || k == reflect.Array):
					f.elem = vt.Elem()
				}
			}
			stack = append(stack, f)
			wantKey = c == '{'
			i++
		case '}', ']':
			if f := &stack[len(stack)-1]; f.name != nil && f.elems >= presize {
				if sizes == nil {
					sizes = map[string]int{}
				}
				sizes[string(f.name)] = f.elems
			}
			stack = stack[:len(stack)-1]
			wantKey = false
			i++
		case ',':
			wantKey = stack[len(stack)-1].obj
			i++
		case '"':
			end, escaped := stringEnd(data, i)
			if wantKey {
				name := data[i+1 : end-1]
				if escaped {
					var un string
					if err := json.Unmarshal(data[i:end], &un); err != nil {
						return nil, fmt.Errorf("member name at %s: %v", Position(data, i), err)
					}
					name = []byte(un)
				}
				if err := stack[len(stack)-1].member(name); err != nil {
					return nil, fmt.Errorf("%w at %s", err, Position(data, i))
				}
				if len(stack) == 1 {
					lastName = name
				}
				wantKey = false
			} else {
				element()
			}
			i = end
		default:
			// whitespace, ':', numbers, true, false, null: a number or
			// literal starts an element where the byte before is not
			// part of it.
			if !isSpace(c) && c != ':' && (i == 0 || !isLiteralByte(data[i-1])) {
				element()
			}
			i++
		}
	}
	return sizes, nil
}

// isLiteralByte reports whether c can be inside a JSON number or literal
// (true, false, null) after its first byte.
func isLiteralByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '.' || c == '+' || c == '-' || c == 'E'
}

// presize is the fewest elements of an array, the value of a member of
// the top-level object, for which Decode makes the slice it fills at its
// final size before decoding (encoding/json appends into the slice it is
// given, growing it by doubling: a bundle of a million devices allocated
// about twice its device list again in the copies).
const presize = 1024

// presizeSlices gives every slice field of the struct v points to whose
// member sizes counts (scan) a capacity of that many elements, where it
// has less. Only fields of the struct itself (not of embedded ones) are
// sized; it changes what is allocated, never what is decoded.
func presizeSlices(v reflect.Value, sizes map[string]int) {
	s := v.Elem()
	for s.Kind() == reflect.Pointer {
		if s.IsNil() {
			return
		}
		s = s.Elem()
	}
	if s.Kind() != reflect.Struct {
		return
	}
	t := s.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous || !f.IsExported() || f.Type.Kind() != reflect.Slice {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if n, ok := sizes[name]; ok && s.Field(i).Cap() < n {
			s.Field(i).Set(reflect.MakeSlice(f.Type, 0, n))
		}
	}
}

// member records name in the object f and sets the type of its value.
// It allocates nothing for a name spelled right in an object of at most
// fewKeys members: a bundle of a million devices has millions of names.
func (f *frame) member(name []byte) error {
	switch {
	case f.set != nil:
		key := foldKey(string(name))
		if f.set[key] {
			return fmt.Errorf("member %q appears twice in one object", name)
		}
		f.set[key] = true
	default:
		// bytes.EqualFold is simple case folding, as foldKey.
		for _, k := range f.names[:f.n] {
			if bytes.EqualFold(k, name) {
				return fmt.Errorf("member %q appears twice in one object", name)
			}
		}
		if f.n < fewKeys {
			f.names[f.n] = name
			f.n++
			break
		}
		f.set = make(map[string]bool, 2*fewKeys)
		for _, k := range f.names {
			f.set[foldKey(string(k))] = true
		}
		f.set[foldKey(string(name))] = true
		f.names, f.n = [fewKeys][]byte{}, 0
	}
	f.next = f.elem
	if f.fields == nil {
		return nil
	}
	ft, ok := f.fields[string(name)]
	if !ok {
		for exact := range f.fields {
			if strings.EqualFold(exact, string(name)) {
				return fmt.Errorf("member %q must be spelled %q (names are case-sensitive)", name, exact)
			}
		}
		return fmt.Errorf("unknown member %q", name)
	}
	f.next = ft
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// target is the type whose members scan can check for a value decoded
// into t: t without pointers, or nil when t reads itself (UnmarshalJSON,
// UnmarshalText) or is an interface, so its members are not fields.
func target(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	if p := reflect.PointerTo(t); p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler) {
		return nil
	}
	return t
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf returns the exact JSON member names of struct t, as
// encoding/json names them: the tag's name, else the field's name;
// untagged embedded structs contribute their fields, a shallower field
// winning over a deeper one of the same name; "-" and unexported fields
// are left out.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	collectFields(t, m, 0)
	fieldCache.Store(t, m)
	return m
}

func collectFields(t reflect.Type, into map[string]reflect.Type, depth int) {
	if depth > MaxDepth {
		return
	}
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if name == "" && ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := into[name]; !taken {
			into[name] = f.Type
		}
	}
	for _, e := range embedded {
		collectFields(e, into, depth+1)
	}
}

// stringEnd returns the offset just past the string starting at data[i]
// (a '"') and whether it holds escapes. data is valid JSON.
func stringEnd(data []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(data), escaped
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
