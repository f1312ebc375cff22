package raserver

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// The OpenAPI drift test (issue 15): every JSON answer of the API has a Go
// type, and that type and the schema in openapi.yaml name the same members,
// both ways, all snake_case.

// apiAnswer is one documented JSON answer and the Go type the server
// encodes it from.
type apiAnswer struct {
	method, path, status string
	typ                  any
	media                string // default application/json
}

var apiAnswers = []apiAnswer{
	{"get", "/v1/whoami", "200", ra.Officer{}, ""},
	{"post", "/v1/parties", "201", ra.Party{}, ""},
	{"get", "/v1/parties", "200", raapi.PartyList{}, ""},
	{"get", "/v1/parties/{id}", "200", ra.Party{}, ""},
	{"post", "/v1/parties/{id}/status", "200", ra.Party{}, ""},
	{"post", "/v1/users", "201", ra.User{}, ""},
	{"get", "/v1/users", "200", raapi.UserList{}, ""},
	{"post", "/v1/officers", "201", raapi.OfficerCreated{}, ""},
	{"get", "/v1/officers", "200", raapi.OfficerList{}, ""},
	{"delete", "/v1/officers/{id}", "200", ra.Officer{}, ""},
	{"post", "/v1/officers/{id}/credential", "200", raapi.OfficerCreated{}, ""},
	{"post", "/v1/enroll", "201", raapi.EnrolResult{}, ""},
	{"post", "/v1/revoke", "200", ra.RevokeResult{}, ""},
	{"post", "/v1/revoke", "200", raapi.RevokeLine{}, raapi.MediaNDJSON},
	{"get", "/v1/certificates", "200", raapi.CertificateList{}, ""},
	{"get", "/v1/certificates/{serial}", "200", ra.CertInfo{}, ""},
	{"post", "/v1/audit/verify", "200", ra.AuditReport{}, ""},
	{"post", "/v1/solr-events", "201", ra.EventResult{}, ""},
	{"get", "/v1/solr-events", "200", raapi.EventList{}, ""},
	{"get", "/v1/solr-events/{id}", "200", ra.EventResult{}, ""},
	{"post", "/v1/solr-events/{id}/approve", "200", ra.EventResult{}, ""},
	{"post", "/v1/solr-events/{id}/close", "200", ra.SoLREvent{}, ""},
	{"post", "/v1/signer-revocations", "201", ra.SignerRevocation{}, ""},
	{"get", "/v1/signer-revocations", "200", raapi.SignerRevocationList{}, ""},
	{"post", "/v1/signer-revocations/{id}/approve", "200", ra.SignerRevocation{}, ""},
	{"post", "/v1/adt", "201", ra.ADTRecord{}, ""},
	{"get", "/v1/adt", "200", raapi.ADTList{}, ""},
	{"post", "/v1/devices", "200", ra.ImportResult{}, ""},
	{"get", "/v1/devices", "200", raapi.DeviceList{}, ""},
	{"put", "/v1/policy/allow-lists/{role}", "200", ra.RoleAllowList{}, ""},
	{"get", "/v1/policy", "200", raapi.AllowLists{}, ""},
	{"get", "/v1/trust", "200", raapi.Trust{}, ""},
	{"get", "/healthz", "200", raapi.Health{}, ""},
	{"get", "/healthz", "503", raapi.Health{}, ""},
	{"get", "/readyz", "200", raapi.Readiness{}, ""},
	{"get", "/readyz", "503", raapi.Readiness{}, ""},
}

// opaqueAnswers are JSON answers passed on exactly as signed (bundle.Open
// and bundle.OpenFeedPage read them, docs/bundle.md): no Go type of the
// API encodes them.
var opaqueAnswers = map[string]bool{"get /v1/bundle 200": true, "get /v1/revocations 200": true}

// snake is a JSON member name of the API.
var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

type openAPIDoc struct {
	root    map[string]any
	schemas map[string]any
}

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(openAPI, &root); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	comp, _ := root["components"].(map[string]any)
	schemas, _ := comp["schemas"].(map[string]any)
	return &openAPIDoc{root: root, schemas: schemas}
}

// resolve follows a $ref to #/components/...
func (d *openAPIDoc) resolve(t *testing.T, s map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var cur any = d.root
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[p]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("openapi.yaml: $ref %s resolves to nothing", ref)
		}
		s = next
	}
}

// response returns the schema of one answer, or nil.
func (d *openAPIDoc) response(t *testing.T, method, path, status, media string) map[string]any {
	paths, _ := d.root["paths"].(map[string]any)
	p, _ := paths[path].(map[string]any)
	op, _ := p[method].(map[string]any)
	rs, _ := op["responses"].(map[string]any)
	r, _ := rs[status].(map[string]any)
	if r == nil {
		return nil
	}
	r = d.resolve(t, r)
	content, _ := r["content"].(map[string]any)
	c, _ := content[media].(map[string]any)
	s, _ := c["schema"].(map[string]any)
	return s
}

// TestOpenAPIAnswersMatchTheirGoTypes: for every JSON answer in
// openapi.yaml there is a Go type (apiAnswers) or it is opaque, and each
// type and its schema agree: every member of the type is in the schema and
// every property of the schema is in the type (recursively, both ways),
// names snake_case, JSON kinds the same. A JSON instance with every
// property of the schema decodes into the type with unknown fields
// disallowed, and the type's own encoding has no member the schema lacks.
func TestOpenAPIAnswersMatchTheirGoTypes(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	listed := map[string]bool{}
	for _, a := range apiAnswers {
		media := a.media
		if media == "" {
			media = "application/json"
		}
		key := a.method + " " + a.path + " " + a.status
		listed[key] = true
		t.Run(strings.ReplaceAll(key+" "+media, "/", "_"), func(t *testing.T) {
			s := d.response(t, a.method, a.path, a.status, media)
			if s == nil {
				t.Fatalf("openapi.yaml documents no %s answer for %s %s %s", media, strings.ToUpper(a.method), a.path, a.status)
			}
			typ := reflect.TypeOf(a.typ)
			var errs []string
			d.compare(t, typ.Name(), s, typ, &errs)
			d.decodeInstance(t, s, typ, &errs)
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
	// Every documented JSON answer is listed (or opaque), and every error
	// answer is the Error schema.
	paths, _ := d.root["paths"].(map[string]any)
	for path, p := range paths {
		ops, _ := p.(map[string]any)
		for method, op := range ops {
			o, _ := op.(map[string]any)
			rs, _ := o["responses"].(map[string]any)
			for status := range rs {
				key := method + " " + path + " " + status
				s := d.response(t, method, path, status, "application/json")
				switch {
				case s == nil, listed[key], opaqueAnswers[key]:
				case status == "default" || strings.HasPrefix(status, "4") || strings.HasPrefix(status, "5"):
					var errs []string
					d.compare(t, "ErrorBody", s, reflect.TypeOf(raapi.ErrorBody{}), &errs)
					for _, e := range errs {
						t.Errorf("%s: %s", key, e)
					}
				default:
					t.Errorf("openapi.yaml: %s answers JSON that no Go type is checked against: add it to apiAnswers (or opaqueAnswers)", key)
				}
			}
		}
	}
	var errs []string
	d.compare(t, "ErrorBody", d.schemas["Error"].(map[string]any), reflect.TypeOf(raapi.ErrorBody{}), &errs)
	for _, e := range errs {
		t.Error(e)
	}
}

// apiBodies are the JSON request bodies and the Go types the server
// decodes them into (strictly: internal/strictjson).
var apiBodies = []struct {
	method, path string
	typ          any
}{
	{"post", "/v1/parties", raapi.PartyBody{}},
	{"post", "/v1/parties/{id}/status", raapi.PartyStatusBody{}},
	{"post", "/v1/users", raapi.UserBody{}},
	{"post", "/v1/officers", raapi.OfficerBody{}},
	{"post", "/v1/officers/{id}/credential", raapi.CredentialBody{}},
	{"post", "/v1/enroll", raapi.EnrolBody{}},
	{"post", "/v1/revoke", raapi.RevokeBody{}},
	{"post", "/v1/signer-revocations", raapi.SignerRevocationBody{}},
	{"post", "/v1/solr-events", raapi.DeclareBody{}},
	{"post", "/v1/solr-events/{id}/approve", raapi.ApproveBody{}},
	{"post", "/v1/solr-events/{id}/close", raapi.CloseBody{}},
	{"post", "/v1/adt", raapi.AdtBody{}},
	{"post", "/v1/devices", raapi.DevicesBody{}},
	{"put", "/v1/policy/allow-lists/{role}", raapi.AllowListBody{}},
}

// TestOpenAPIBodiesMatchTheirGoTypes: every JSON request body in
// openapi.yaml has its Go type (apiBodies), and they agree as answers do
// (TestOpenAPIAnswersMatchTheirGoTypes).
func TestOpenAPIBodiesMatchTheirGoTypes(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	body := func(method, path string) map[string]any {
		paths, _ := d.root["paths"].(map[string]any)
		p, _ := paths[path].(map[string]any)
		op, _ := p[method].(map[string]any)
		rb, _ := op["requestBody"].(map[string]any)
		content, _ := rb["content"].(map[string]any)
		c, _ := content["application/json"].(map[string]any)
		s, _ := c["schema"].(map[string]any)
		return s
	}
	listed := map[string]bool{}
	for _, b := range apiBodies {
		listed[b.method+" "+b.path] = true
		s := body(b.method, b.path)
		if s == nil {
			t.Errorf("openapi.yaml documents no JSON body for %s %s", strings.ToUpper(b.method), b.path)
			continue
		}
		typ := reflect.TypeOf(b.typ)
		var errs []string
		d.compare(t, typ.Name(), s, typ, &errs)
		d.decodeInstance(t, s, typ, &errs)
		for _, e := range errs {
			t.Error(e)
		}
	}
	paths, _ := d.root["paths"].(map[string]any)
	for path, p := range paths {
		for method := range p.(map[string]any) {
			if body(method, path) != nil && !listed[method+" "+path] {
				t.Errorf("openapi.yaml: %s %s takes a JSON body that no Go type is checked against: add it to apiBodies", method, path)
			}
		}
	}
}

// TestOpenAPIEnumsHoldEveryValue: the enums of openapi.yaml hold every
// value the RA gives the member.
func TestOpenAPIEnumsHoldEveryValue(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	var roles []string
	for _, r := range role.All() {
		roles = append(roles, string(r))
	}
	for _, c := range []struct {
		schema, prop string
		values       []string
	}{
		{"Party", "status", []string{store.StatusActive, store.StatusSuspended, store.StatusRemoved, ra.PartyFailed}},
		{"Officer", "kind", ra.OfficerKinds()},
		{"User", "role", roles},
		{"Certificate", "status", []string{string(store.StatusGood), string(store.StatusRevoked)}},
		{"Device", "registrations.[].capacity", capacities()},
		{"SoLREvent", "state", []string{string(bundle.EventDeclared), string(bundle.EventApproved), string(bundle.EventActive), string(bundle.EventClosed)}},
	} {
		p := d.resolve(t, d.schemas[c.schema].(map[string]any))
		for _, seg := range strings.Split(c.prop, ".") { // "[]" is an array's items
			if seg == "[]" {
				p, _ = p["items"].(map[string]any)
			} else {
				props, _ := p["properties"].(map[string]any)
				p, _ = props[seg].(map[string]any)
			}
			if p == nil {
				t.Fatalf("openapi.yaml has no %s.%s", c.schema, c.prop)
			}
			p = d.resolve(t, p)
		}
		var enum []string
		for _, v := range asSlice(p["enum"]) {
			enum = append(enum, fmt.Sprint(v))
		}
		for _, v := range c.values {
			if !slices.Contains(enum, v) {
				t.Errorf("openapi.yaml %s.%s enum %v lacks %q, which the RA gives it", c.schema, c.prop, enum, v)
			}
		}
	}
}

func capacities() []string {
	var out []string
	for _, c := range policy.Capacities() {
		out = append(out, string(c))
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

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
func (d *openAPIDoc) objectProps(t *testing.T, s map[string]any) (map[string]any, bool) {
	if alts := asSlice(s["oneOf"]); alts != nil {
		out := map[string]any{}
		for _, a := range alts {
			as := d.resolve(t, a.(map[string]any))
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
func (d *openAPIDoc) compare(t *testing.T, where string, s map[string]any, typ reflect.Type, errs *[]string) {
	s = d.resolve(t, s)
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
func (d *openAPIDoc) instance(t *testing.T, s map[string]any, depth int) any {
	s = d.resolve(t, s)
	if depth > 8 {
		return nil
	}
	if alts := asSlice(s["oneOf"]); alts != nil {
		if props, ok := d.objectProps(t, s); ok {
			out := map[string]any{}
			for k, v := range props {
				out[k] = d.instance(t, v.(map[string]any), depth+1)
			}
			return out
		}
		return d.instance(t, alts[0].(map[string]any), depth+1)
	}
	if e := asSlice(s["enum"]); len(e) > 0 {
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
func (d *openAPIDoc) decodeInstance(t *testing.T, s map[string]any, typ reflect.Type, errs *[]string) {
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
