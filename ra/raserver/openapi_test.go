package raserver

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/internal/openapitest"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// The OpenAPI drift test (issue 15): every JSON answer of the API has a Go
// type, and that type and the schema in openapi.yaml name the same members,
// both ways, all snake_case.

var apiAnswers = []openapitest.Answer{
	{Method: "get", Path: "/v1/whoami", Status: "200", Type: ra.Officer{}},
	{Method: "post", Path: "/v1/parties", Status: "201", Type: ra.Party{}},
	{Method: "get", Path: "/v1/parties", Status: "200", Type: raapi.PartyList{}},
	{Method: "get", Path: "/v1/parties/{id}", Status: "200", Type: ra.Party{}},
	{Method: "post", Path: "/v1/parties/{id}/status", Status: "200", Type: ra.Party{}},
	{Method: "post", Path: "/v1/users", Status: "201", Type: ra.User{}},
	{Method: "get", Path: "/v1/users", Status: "200", Type: raapi.UserList{}},
	{Method: "post", Path: "/v1/users/{id}/withdraw", Status: "200", Type: ra.UserWithdrawal{}},
	{Method: "post", Path: "/v1/officers", Status: "201", Type: raapi.OfficerCreated{}},
	{Method: "get", Path: "/v1/officers", Status: "200", Type: raapi.OfficerList{}},
	{Method: "delete", Path: "/v1/officers/{id}", Status: "200", Type: ra.Officer{}},
	{Method: "post", Path: "/v1/officers/{id}/status", Status: "200", Type: ra.Officer{}},
	{Method: "post", Path: "/v1/officers/{id}/credential", Status: "200", Type: raapi.OfficerCreated{}},
	{Method: "post", Path: "/v1/enroll", Status: "201", Type: raapi.EnrolResult{}},
	{Method: "post", Path: "/v1/revoke", Status: "200", Type: ra.RevokeResult{}},
	{Method: "post", Path: "/v1/revoke", Status: "200", Type: raapi.RevokeLine{}, Media: raapi.MediaNDJSON},
	{Method: "get", Path: "/v1/certificates", Status: "200", Type: raapi.CertificateList{}},
	{Method: "get", Path: "/v1/certificates/{serial}", Status: "200", Type: ra.CertInfo{}},
	{Method: "post", Path: "/v1/audit/verify", Status: "200", Type: ra.AuditReport{}},
	{Method: "post", Path: "/v1/solr-events", Status: "201", Type: ra.EventResult{}},
	{Method: "get", Path: "/v1/solr-events", Status: "200", Type: raapi.EventList{}},
	{Method: "get", Path: "/v1/solr-events/{id}", Status: "200", Type: ra.EventResult{}},
	{Method: "post", Path: "/v1/solr-events/{id}/approve", Status: "200", Type: ra.EventResult{}},
	{Method: "post", Path: "/v1/solr-events/{id}/close", Status: "200", Type: ra.SoLREvent{}},
	{Method: "post", Path: "/v1/signer-revocations", Status: "201", Type: ra.SignerRevocation{}},
	{Method: "get", Path: "/v1/signer-revocations", Status: "200", Type: raapi.SignerRevocationList{}},
	{Method: "post", Path: "/v1/signer-revocations/{id}/approve", Status: "200", Type: ra.SignerRevocation{}},
	{Method: "post", Path: "/v1/adt", Status: "201", Type: ra.ADTRecord{}},
	{Method: "get", Path: "/v1/adt", Status: "200", Type: raapi.ADTList{}},
	{Method: "post", Path: "/v1/adt/{sc_user}/{supplier_user}/withdraw", Status: "200", Type: ra.ADTRecord{}},
	{Method: "post", Path: "/v1/devices", Status: "200", Type: ra.ImportResult{}},
	{Method: "get", Path: "/v1/devices", Status: "200", Type: raapi.DeviceList{}},
	{Method: "put", Path: "/v1/policy/allow-lists/{role}", Status: "200", Type: ra.RoleAllowList{}},
	{Method: "get", Path: "/v1/policy", Status: "200", Type: raapi.AllowLists{}},
	{Method: "get", Path: "/v1/trust", Status: "200", Type: raapi.Trust{}},
	{Method: "get", Path: "/healthz", Status: "200", Type: raapi.Health{}},
	{Method: "get", Path: "/healthz", Status: "503", Type: raapi.Health{}},
	{Method: "get", Path: "/readyz", Status: "200", Type: raapi.Readiness{}},
	{Method: "get", Path: "/readyz", Status: "503", Type: raapi.Readiness{}},
}

// opaqueAnswers are JSON answers passed on exactly as signed (bundle.Open
// and bundle.OpenFeedPage read them, docs/bundle.md): no Go type of the
// API encodes them.
var opaqueAnswers = map[string]bool{"get /v1/bundle 200": true, "get /v1/revocations 200": true}

func loadOpenAPI(t *testing.T) *openapitest.Doc {
	t.Helper()
	return openapitest.Load(t, openAPI)
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
	d.CheckAnswers(t, apiAnswers, opaqueAnswers, reflect.TypeOf(raapi.ErrorBody{}))
	for _, e := range d.Match(t, d.Schemas["Error"].(map[string]any), reflect.TypeOf(raapi.ErrorBody{})) {
		t.Error(e)
	}
}

// apiBodies are the JSON request bodies and the Go types the server
// decodes them into (strictly: internal/strictjson).
var apiBodies = []openapitest.Body{
	{Method: "post", Path: "/v1/parties", Type: raapi.PartyBody{}},
	{Method: "post", Path: "/v1/parties/{id}/status", Type: raapi.PartyStatusBody{}},
	{Method: "post", Path: "/v1/users", Type: raapi.UserBody{}},
	{Method: "post", Path: "/v1/users/{id}/withdraw", Type: raapi.UserWithdrawBody{}},
	{Method: "post", Path: "/v1/officers", Type: raapi.OfficerBody{}},
	{Method: "post", Path: "/v1/officers/{id}/status", Type: raapi.OfficerStatusBody{}},
	{Method: "post", Path: "/v1/officers/{id}/credential", Type: raapi.CredentialBody{}},
	{Method: "post", Path: "/v1/enroll", Type: raapi.EnrolBody{}},
	{Method: "post", Path: "/v1/revoke", Type: raapi.RevokeBody{}},
	{Method: "post", Path: "/v1/signer-revocations", Type: raapi.SignerRevocationBody{}},
	{Method: "post", Path: "/v1/solr-events", Type: raapi.DeclareBody{}},
	{Method: "post", Path: "/v1/solr-events/{id}/approve", Type: raapi.ApproveBody{}},
	{Method: "post", Path: "/v1/solr-events/{id}/close", Type: raapi.CloseBody{}},
	{Method: "post", Path: "/v1/adt", Type: raapi.AdtBody{}},
	{Method: "post", Path: "/v1/adt/{sc_user}/{supplier_user}/withdraw", Type: raapi.ADTWithdrawBody{}},
	{Method: "post", Path: "/v1/devices", Type: raapi.DevicesBody{}},
	{Method: "put", Path: "/v1/policy/allow-lists/{role}", Type: raapi.AllowListBody{}},
}

// TestOpenAPIBodiesMatchTheirGoTypes: every JSON request body in
// openapi.yaml has its Go type (apiBodies), and they agree as answers do
// (TestOpenAPIAnswersMatchTheirGoTypes).
func TestOpenAPIBodiesMatchTheirGoTypes(t *testing.T) {
	t.Parallel()
	loadOpenAPI(t).CheckBodies(t, apiBodies)
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
		p := d.Resolve(t, d.Schemas[c.schema].(map[string]any))
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
			p = d.Resolve(t, p)
		}
		var enum []string
		for _, v := range openapitest.Slice(p["enum"]) {
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
