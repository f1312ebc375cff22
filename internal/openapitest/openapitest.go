// Package openapitest holds an OpenAPI description to the Go types a server
// encodes its JSON answers from and decodes its JSON request bodies into,
// both ways (every member of the type is a property of the schema and every
// property a member, recursively, names snake_case, JSON kinds the same; a
// JSON instance with every property decodes strictly into the type), and
// every documented JSON answer and body to a listed type. The RA's
// openapi.yaml (ra/raserver) and the verifier sidecar's (verifier) are
// checked with it. It is for tests: failures are reported on a testing.TB.
package openapitest

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Answer is one documented JSON answer and the Go type the server encodes
// it from.
type Answer struct {
	Method, Path, Status string // "get", "/v1/x", "200"
	Type                 any    // a value of the Go type
	Media                string // default application/json
}

// Body is one JSON request body and the Go type the server decodes it into.
type Body struct {
	Method, Path string
	Type         any
}

// snake is a JSON member name of the API.
var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Doc is a loaded OpenAPI description.
type Doc struct {
	Root    map[string]any
	Schemas map[string]any // components.schemas
}

// Load parses an OpenAPI description (YAML), failing t if it does not parse.
func Load(t testing.TB, data []byte) *Doc {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("openapi: %v", err)
	}
	comp, _ := root["components"].(map[string]any)
	schemas, _ := comp["schemas"].(map[string]any)
	return &Doc{Root: root, Schemas: schemas}
}

// Resolve follows a $ref to #/components/...
func (d *Doc) Resolve(t testing.TB, s map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var cur any = d.Root
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[p]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("openapi: $ref %s resolves to nothing", ref)
		}
		s = next
	}
}

// operation returns the operation method path, or nil.
func (d *Doc) operation(method, path string) map[string]any {
	paths, _ := d.Root["paths"].(map[string]any)
	p, _ := paths[path].(map[string]any)
	op, _ := p[method].(map[string]any)
	return op
}

// Response returns the schema of one answer in media, or nil.
func (d *Doc) Response(t testing.TB, method, path, status, media string) map[string]any {
	rs, _ := d.operation(method, path)["responses"].(map[string]any)
	r, _ := rs[status].(map[string]any)
	if r == nil {
		return nil
	}
	r = d.Resolve(t, r)
	content, _ := r["content"].(map[string]any)
	c, _ := content[media].(map[string]any)
	s, _ := c["schema"].(map[string]any)
	return s
}

// RequestBody returns the schema of an operation's request body in media,
// or nil.
func (d *Doc) RequestBody(method, path, media string) map[string]any {
	rb, _ := d.operation(method, path)["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	c, _ := content[media].(map[string]any)
	s, _ := c["schema"].(map[string]any)
	return s
}

// Operations calls f with every documented method and path.
func (d *Doc) Operations(f func(method, path string, op map[string]any)) {
	paths, _ := d.Root["paths"].(map[string]any)
	for path, p := range paths {
		ops, _ := p.(map[string]any)
		for method, op := range ops {
			o, _ := op.(map[string]any)
			f(method, path, o)
		}
	}
}

// Match checks Go type typ against schema s both ways and decodes a full
// instance of s strictly into typ; it returns what disagrees.
func (d *Doc) Match(t testing.TB, s map[string]any, typ reflect.Type) []string {
	var errs []string
	d.compare(t, typ.Name(), s, typ, &errs)
	d.decodeInstance(t, s, typ, &errs)
	return errs
}

// CheckAnswers: every answer is documented and matches its type (Match);
// every JSON answer documented is listed, opaque ("get /v1/x 200") or,
// for a 4xx, 5xx or default status, matches errType.
func (d *Doc) CheckAnswers(t *testing.T, answers []Answer, opaque map[string]bool, errType reflect.Type) {
	t.Helper()
	listed := map[string]bool{}
	for _, a := range answers {
		media := a.Media
		if media == "" {
			media = "application/json"
		}
		key := a.Method + " " + a.Path + " " + a.Status
		listed[key] = true
		t.Run(strings.ReplaceAll(key+" "+media, "/", "_"), func(t *testing.T) {
			s := d.Response(t, a.Method, a.Path, a.Status, media)
			if s == nil {
				t.Fatalf("openapi documents no %s answer for %s %s %s", media, strings.ToUpper(a.Method), a.Path, a.Status)
			}
			for _, e := range d.Match(t, s, reflect.TypeOf(a.Type)) {
				t.Error(e)
			}
		})
	}
	d.Operations(func(method, path string, op map[string]any) {
		rs, _ := op["responses"].(map[string]any)
		for status := range rs {
			key := method + " " + path + " " + status
			s := d.Response(t, method, path, status, "application/json")
			switch {
			case s == nil, listed[key], opaque[key]:
			case status == "default" || strings.HasPrefix(status, "4") || strings.HasPrefix(status, "5"):
				var errs []string
				d.compare(t, errType.Name(), s, errType, &errs)
				for _, e := range errs {
					t.Errorf("%s: %s", key, e)
				}
			default:
				t.Errorf("openapi: %s answers JSON that no Go type is checked against: list it (or as opaque)", key)
			}
		}
	})
}

// CheckBodies: every body is documented and matches its type (Match), and
// every JSON request body documented is listed.
func (d *Doc) CheckBodies(t *testing.T, bodies []Body) {
	t.Helper()
	listed := map[string]bool{}
	for _, b := range bodies {
		listed[b.Method+" "+b.Path] = true
		s := d.RequestBody(b.Method, b.Path, "application/json")
		if s == nil {
			t.Errorf("openapi documents no JSON body for %s %s", strings.ToUpper(b.Method), b.Path)
			continue
		}
		for _, e := range d.Match(t, s, reflect.TypeOf(b.Type)) {
			t.Error(e)
		}
	}
	d.Operations(func(method, path string, _ map[string]any) {
		if d.RequestBody(method, path, "application/json") != nil && !listed[method+" "+path] {
			t.Errorf("openapi: %s %s takes a JSON body that no Go type is checked against: list it", method, path)
		}
	})
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	rawType       = reflect.TypeOf(json.RawMessage{})
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
	jsonMarshaler = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

// marshalerKind is the JSON type a json.Marshaler's zero value encodes as.
func marshalerKind(typ reflect.Type) string {
	data, err := json.Marshal(reflect.New(typ).Elem().Interface())
	if err != nil || len(data) == 0 {
		return "unknown"
	}
	switch data[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// objectProps is the properties of an object schema; a oneOf of objects
// (an NDJSON line) is the union of its alternatives'.
func (d *Doc) objectProps(t testing.TB, s map[string]any) (map[string]any, bool) {
	if alts := Slice(s["oneOf"]); alts != nil {
		out := map[string]any{}
		for _, a := range alts {
			as := d.Resolve(t, a.(map[string]any))
			ps, ok := as["properties"].(map[string]any)
			if !ok {
				return nil, false
			}
			for k, v := range ps {
				out[k] = v
			}
		}
		return out, true
	}
	if s["type"] != "object" {
		return nil, false
	}
	ps, ok := s["properties"].(map[string]any)
	return ps, ok
}

// jsonFields lists the JSON members of struct type typ by name.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// compare checks Go type typ against schema s at where, both ways.
func (d *Doc) compare(t testing.TB, where string, s map[string]any, typ reflect.Type, errs *[]string) {
	s = d.Resolve(t, s)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	bad := func(format string, a ...any) { *errs = append(*errs, where+": "+fmt.Sprintf(format, a...)) }
	want := func(jsonType string) {
		if s["type"] != jsonType && s["oneOf"] == nil {
			bad("Go %s is JSON %s, the schema says type %v", typ, jsonType, s["type"])
		}
	}
	switch {
	case typ == rawType || typ.Kind() == reflect.Interface:
		return // any JSON value
	case typ == timeType:
		want("string")
		if s["format"] != "date-time" {
			bad("a time, the schema gives format %v, want date-time", s["format"])
		}
		return
	case typ.Implements(jsonMarshaler):
		if k := marshalerKind(typ); k != "number" || s["type"] != "integer" {
			want(k)
		}
		return
	case typ.Implements(textMarshaler) || reflect.PointerTo(typ).Implements(textMarshaler):
		want("string")
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		props, ok := d.objectProps(t, s)
		if !ok {
			bad("Go struct %s, the schema is no object with properties", typ)
			return
		}
		fields := jsonFields(typ)
		for name, ft := range fields {
			if !snake.MatchString(name) {
				bad("member %q of %s is not snake_case", name, typ)
			}
			ps, ok := props[name].(map[string]any)
			if !ok {
				bad("member %q of %s is not in the schema", name, typ)
				continue
			}
			d.compare(t, where+"."+name, ps, ft, errs)
		}
		for name := range props {
			if !snake.MatchString(name) {
				bad("schema property %q is not snake_case", name)
			}
			if _, ok := fields[name]; !ok {
				bad("schema property %q is not a member of Go %s", name, typ)
			}
		}
	case reflect.Map:
		want("object")
		ap, ok := s["additionalProperties"].(map[string]any)
		if !ok {
			bad("Go map %s, the schema has no additionalProperties schema", typ)
			return
		}
		d.compare(t, where+"[key]", ap, typ.Elem(), errs)
	case reflect.Slice, reflect.Array:
		if typ.Elem().Kind() == reflect.Uint8 {
			want("string")
			if s["format"] != "byte" {
				bad("Go []byte is base64, the schema gives format %v, want byte", s["format"])
			}
			return
		}
		want("array")
		items, ok := s["items"].(map[string]any)
		if !ok {
			bad("array without items")
			return
		}
		d.compare(t, where+"[]", items, typ.Elem(), errs)
	case reflect.String:
		want("string")
	case reflect.Bool:
		want("boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want("integer")
	case reflect.Float32, reflect.Float64:
		want("number")
	default:
		bad("Go %s has no JSON schema check", typ)
	}
}

// instance is a JSON value with every property of schema s, each value
// the first of its enum, its example or one of its type and format.
func (d *Doc) instance(t testing.TB, s map[string]any, depth int) any {
	s = d.Resolve(t, s)
	if depth > 8 {
		return nil
	}
	if alts := Slice(s["oneOf"]); alts != nil {
		if props, ok := d.objectProps(t, s); ok {
			out := map[string]any{}
			for k, v := range props {
				out[k] = d.instance(t, v.(map[string]any), depth+1)
			}
			return out
		}
		return d.instance(t, alts[0].(map[string]any), depth+1)
	}
	if e := Slice(s["enum"]); len(e) > 0 {
		return e[0]
	}
	if ex, ok := s["example"]; ok {
		return ex
	}
	switch s["type"] {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, v := range props {
			out[k] = d.instance(t, v.(map[string]any), depth+1)
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			out["some-key"] = d.instance(t, ap, depth+1)
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{d.instance(t, items, depth+1)}
	case "integer":
		return 1
	case "number":
		return 1.5
	case "boolean":
		return true
	case "string":
		switch s["format"] {
		case "date-time":
			return "2026-01-02T03:04:05Z"
		case "byte":
			return base64.StdEncoding.EncodeToString([]byte("x"))
		}
		return "x"
	}
	return nil
}

// decodeInstance decodes a full instance of s into typ with unknown fields
// disallowed, and checks that encoding what it got yields no member the
// instance lacks.
func (d *Doc) decodeInstance(t testing.TB, s map[string]any, typ reflect.Type, errs *[]string) {
	data, err := json.Marshal(d.instance(t, s, 0))
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.New(typ)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		*errs = append(*errs, fmt.Sprintf("%s: the schema's instance %s does not decode strictly: %v", typ, data, err))
		return
	}
	back, err := json.Marshal(v.Interface())
	if err != nil {
		*errs = append(*errs, fmt.Sprintf("%s: re-encoding: %v", typ, err))
		return
	}
	var in, out map[string]any
	json.Unmarshal(data, &in)
	json.Unmarshal(back, &out)
	var extra []string
	for k := range out {
		if _, ok := in[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		*errs = append(*errs, fmt.Sprintf("%s encodes members %v the schema lacks", typ, extra))
	}
}

// Slice is v as a YAML sequence, nil if it is none.
func Slice(v any) []any { s, _ := v.([]any); return s }
