package verifier_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/internal/openapitest"
	"github.com/smki/smki/verifier"
)

// sidecarAnswers are the sidecar's JSON answers in openapi.yaml and the Go
// types the handlers encode them from.
var sidecarAnswers = []openapitest.Answer{
	{Method: "post", Path: "/v1/verify", Status: "200", Type: verifier.Decision{}},
	{Method: "post", Path: "/v1/verify", Status: "400", Type: verifier.HTTPError{}},
	{Method: "get", Path: "/healthz", Status: "200", Type: verifier.Health{}},
	{Method: "get", Path: "/readyz", Status: "200", Type: verifier.Readiness{}},
	{Method: "get", Path: "/readyz", Status: "503", Type: verifier.Readiness{}},
}

// TestSidecarOpenAPI holds verifier/openapi.yaml to the sidecar, both ways
// (the RA's openapi.yaml is held the same way, internal/openapitest):
//   - each JSON answer's schema and its Go type name the same members,
//     recursively, and every JSON answer documented has its type;
//   - the one request body is the XML of POST /v1/verify, and no
//     operation documents a JSON body (the sidecar decodes none);
//   - what the handlers (Handler, InstrumentedHandler, UnreadyHandler)
//     really answer, for every path and method misuse, is documented with
//     its status and media type, decodes strictly into its type, and every
//     documented answer is seen answered;
//   - Decision.code's enum holds every reason code of codes.go.
func TestSidecarOpenAPI(t *testing.T) {
	t.Parallel()
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := openapitest.Load(t, spec)
	d.CheckAnswers(t, sidecarAnswers, nil, reflect.TypeOf(verifier.HTTPError{}))
	d.CheckBodies(t, nil)
	if d.RequestBody("post", "/v1/verify", "application/xml") == nil {
		t.Error("openapi.yaml: POST /v1/verify documents no application/xml body")
	}
	d.Operations(func(method, path string, op map[string]any) {
		if _, ok := op["requestBody"]; ok && method+" "+path != "post /v1/verify" {
			t.Errorf("openapi.yaml: %s %s takes a body; the sidecar reads none but POST /v1/verify's", method, path)
		}
	})
	checkCodeEnum(t, d)

	// The wire.
	dir := filepath.Join("..", "docs", "examples")
	ready, _ := sampleVerifier(t, filepath.Join(dir, "trust"))
	stale, _ := sampleVerifierLater(t, filepath.Join(dir, "trust"), 30*24*time.Hour)
	m, err := verifier.NewMetrics(prometheus.NewRegistry(), ready)
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]http.Handler{
		"Handler":             verifier.Handler(ready, 0),
		"Handler (not ready)": verifier.Handler(stale, 0),
		"InstrumentedHandler": verifier.InstrumentedHandler(m, 0),
		"UnreadyHandler":      verifier.UnreadyHandler(prometheus.NewRegistry(), []string{"bundle: E_ENVELOPE_SIGNER"}),
	}
	accepted, err := os.ReadFile(filepath.Join(dir, "sr1.6-accepted.xml"))
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct{ method, path string }{
		{"POST", "/v1/verify"},
		{"POST", "/v1/verify (over 1 MiB)"},
		{"POST", "/v1/verify (body unreadable)"},
		{"GET", "/v1/verify"},
		{"GET", "/healthz"},
		{"HEAD", "/healthz"},
		{"POST", "/healthz"},
		{"GET", "/readyz"},
		{"DELETE", "/readyz"},
		{"GET", "/metrics"},
		{"GET", "/openapi.yaml"},
		{"HEAD", "/openapi.yaml"},
		{"POST", "/openapi.yaml"},
	}
	seen := map[string]bool{}
	types := map[string]reflect.Type{}
	for _, a := range sidecarAnswers {
		types[a.Method+" "+a.Path+" "+a.Status] = reflect.TypeOf(a.Type)
	}
	for name, h := range handlers {
		for _, c := range calls {
			path, variant, _ := strings.Cut(c.path, " ")
			var r *http.Request
			switch variant {
			case "(over 1 MiB)":
				r = httptest.NewRequest(c.method, path, bytes.NewReader(make([]byte, verifier.DefaultMaxRequestBody+1)))
			case "(body unreadable)":
				r = httptest.NewRequest(c.method, path, failingReader{})
			default:
				r = httptest.NewRequest(c.method, path, bytes.NewReader(accepted))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			method, status := strings.ToLower(c.method), strconv.Itoa(rec.Code)
			if method == "head" {
				method = "get"
			}
			where := name + ": " + c.method + " " + c.path + " -> " + status
			media, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
			if path == "/metrics" && name != "InstrumentedHandler" && name != "UnreadyHandler" {
				if rec.Code != http.StatusNotFound {
					t.Errorf("%s: a handler without metrics serves /metrics", where)
				}
				continue
			}
			if rec.Code == http.StatusMethodNotAllowed {
				// Documented in info.description: JSON {"error":"use M"} with Allow,
				// text on /metrics.
				if path == "/metrics" {
					continue
				}
				var e verifier.HTTPError
				if err := strictJSON(rec.Body.Bytes(), &e); err != nil || media != "application/json" ||
					e.Error != "use "+rec.Header().Get("Allow") || rec.Header().Get("Allow") == "" {
					t.Errorf("%s: %s %q (Allow %q), want JSON {\"error\":\"use M\"} with Allow M", where, media, rec.Body, rec.Header().Get("Allow"))
				}
				continue
			}
			key := method + " " + path + " " + status
			if d.Response(t, method, path, status, media) == nil {
				t.Errorf("%s: openapi.yaml documents no %s answer %s", where, media, key)
				continue
			}
			seen[key] = true
			if media != "application/json" || c.method == "HEAD" {
				continue
			}
			typ, ok := types[key]
			if !ok {
				t.Errorf("%s: no Go type listed for %s", where, key)
				continue
			}
			if err := strictJSON(rec.Body.Bytes(), reflect.New(typ).Interface()); err != nil {
				t.Errorf("%s: the answer %s does not decode strictly into %s: %v", where, rec.Body, typ, err)
			}
		}
	}
	d.Operations(func(method, path string, op map[string]any) {
		rs, _ := op["responses"].(map[string]any)
		for status := range rs {
			if key := method + " " + path + " " + status; !seen[key] {
				t.Errorf("openapi.yaml documents %s, which no handler answered", key)
			}
		}
	})
}

// TestSidecarServesOpenAPI: every sidecar handler, ready or not, answers
// GET /openapi.yaml with exactly verifier/openapi.yaml as application/yaml,
// as the RA serves its own (ra/raserver).
func TestSidecarServesOpenAPI(t *testing.T) {
	t.Parallel()
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "examples")
	ready, _ := sampleVerifier(t, filepath.Join(dir, "trust"))
	m, err := verifier.NewMetrics(prometheus.NewRegistry(), ready)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{
		"Handler":             verifier.Handler(ready, 0),
		"InstrumentedHandler": verifier.InstrumentedHandler(m, 0),
		"UnreadyHandler":      verifier.UnreadyHandler(prometheus.NewRegistry(), []string{"bundle: E_ENVELOPE_SIGNER"}),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.yaml", nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" {
			t.Errorf("%s: GET /openapi.yaml -> %d %q, want 200 application/yaml", name, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !bytes.Equal(rec.Body.Bytes(), spec) {
			t.Errorf("%s: GET /openapi.yaml served %d bytes that are not openapi.yaml (%d bytes)", name, rec.Body.Len(), len(spec))
		}
	}
}

// failingReader is a request body that cannot be read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// checkCodeEnum: Decision.code's enum in openapi.yaml is "" and exactly
// the Code constants of codes.go.
func checkCodeEnum(t *testing.T, d *openapitest.Doc) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{""}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, id := range vs.Names {
				if strings.HasPrefix(id.Name, "Code") && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						want = append(want, s)
					}
				}
			}
		}
		return true
	})
	props, _ := d.Schemas["Decision"].(map[string]any)["properties"].(map[string]any)
	code, _ := props["code"].(map[string]any)
	var got []string
	for _, v := range openapitest.Slice(code["enum"]) {
		s, _ := v.(string)
		got = append(got, s)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("openapi.yaml Decision.code enum %q, codes.go has %q", got, want)
	}
}
