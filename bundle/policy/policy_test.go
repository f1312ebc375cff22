package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/role"
)

// duisRoles are the roles DUIS defines; SC is the project's own.
var duisRoles = []role.UserRole{role.ImportSupplier, role.ExportSupplier, role.GasSupplier,
	role.RegisteredSupplierAgent, role.ElectricityDistributor, role.GasTransporter, role.OtherUser}

func TestDefaultParses(t *testing.T) {
	t.Parallel()
	if _, err := Parse(defaultFile); err != nil {
		t.Fatalf("embedded default-eligibility.json: %v", err)
	}
	if len(Default().Variants()) != 129 {
		t.Fatalf("default has %d variants, want 129", len(Default().Variants()))
	}
}

// TestDefaultMatchesDUIS compares the default, both directions, with DCC's
// DUIS eligibility matrix: every variant, name, critical flag and role.
func TestDefaultMatchesDUIS(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(conformance.Path(t, "duis", "duis-request-matrix.json"))
	if err != nil {
		t.Fatal(err)
	}
	var matrix []struct {
		Name     string   `json:"Service Request Name"`
		SRV      string   `json:"Service Reference Variant"`
		Critical string   `json:"Critical"`
		Roles    []string `json:"Eligible User Roles"`
	}
	if err := json.Unmarshal(raw, &matrix); err != nil {
		t.Fatal(err)
	}
	e := Default()
	want := map[role.UserRole][]string{}
	seen := map[string]bool{}
	for _, m := range matrix {
		seen[m.SRV] = true
		v, ok := e.Variant(m.SRV)
		if !ok {
			t.Errorf("SRV %s missing", m.SRV)
			continue
		}
		if v.Name != m.Name || v.Critical != (m.Critical == "Yes") {
			t.Errorf("SRV %s: %q critical=%v, DUIS %q %s", m.SRV, v.Name, v.Critical, m.Name, m.Critical)
		}
		for _, r := range duisRoles {
			if e.Allowed(r, m.SRV) != slices.Contains(m.Roles, string(r)) {
				t.Errorf("SRV %s role %s: allowed=%v, DUIS roles %v", m.SRV, r, e.Allowed(r, m.SRV), m.Roles)
			}
		}
		for _, s := range m.Roles {
			want[role.UserRole(s)] = append(want[role.UserRole(s)], m.SRV)
		}
	}
	for _, v := range e.Variants() {
		if !seen[v.SRV] {
			t.Errorf("SRV %s is not in DUIS", v.SRV)
		}
	}
	for _, r := range duisRoles {
		w := slices.Clone(want[r])
		slices.SortFunc(w, compareSRV)
		if got := e.AllowList(r); !slices.Equal(got, w) {
			t.Errorf("AllowList(%s) = %v, want %v", r, got, w)
		}
	}
	if got := e.AllowList(role.SoLRContingency); !slices.Equal(got, []string{"1.6"}) {
		t.Errorf("AllowList(SC) = %v, want [1.6]", got)
	}
	if len(matrix) != len(e.Variants()) {
		t.Errorf("DUIS has %d variants, default %d", len(matrix), len(e.Variants()))
	}
}

func TestSCIsExactly16(t *testing.T) {
	t.Parallel()
	e := Default()
	for _, v := range e.Variants() {
		if got := e.Allowed(role.SoLRContingency, v.SRV); got != (v.SRV == "1.6") {
			t.Errorf("SC allowed %s = %v", v.SRV, got)
		}
	}
	if e.Allowed(role.SoLRContingency, "1.6.1") || e.Allowed("XX", "1.6") || e.Allowed(role.ImportSupplier, "99.1") {
		t.Error("unknown role or SRV allowed")
	}
}

func TestMarshalIsTheFile(t *testing.T) {
	t.Parallel()
	got, err := Default().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, defaultFile) {
		t.Fatal("MarshalJSON(Default()) differs from default-eligibility.json: regenerate the file with it")
	}
	back, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, back, Default())
	// json.Marshal goes through MarshalJSON, and compacts.
	if b, err := json.Marshal(Default()); err != nil || !json.Valid(b) || bytes.Contains(b, []byte("\n")) {
		t.Fatalf("json.Marshal: %v", err)
	}
}

func equal(t *testing.T, a, b *Eligibility) {
	t.Helper()
	if !slices.Equal(a.Variants(), b.Variants()) {
		t.Fatal("variants differ")
	}
	for _, r := range role.All() {
		if !slices.Equal(a.AllowList(r), b.AllowList(r)) {
			t.Fatalf("AllowList(%s) differs", r)
		}
	}
}

func TestWithAllowList(t *testing.T) {
	t.Parallel()
	base := Default()
	wider, err := base.WithAllowList(role.SoLRContingency, []string{"2.2", "1.6"})
	if err != nil {
		t.Fatal(err)
	}
	if got := wider.AllowList(role.SoLRContingency); !slices.Equal(got, []string{"1.6", "2.2"}) {
		t.Fatalf("new list %v", got)
	}
	if got := base.AllowList(role.SoLRContingency); !slices.Equal(got, []string{"1.6"}) {
		t.Fatalf("original changed: %v", got)
	}
	if !slices.Equal(wider.AllowList(role.ImportSupplier), base.AllowList(role.ImportSupplier)) {
		t.Fatal("other roles changed")
	}
	none, err := base.WithAllowList(role.SoLRContingency, nil)
	if err != nil || len(none.AllowList(role.SoLRContingency)) != 0 || none.Allowed(role.SoLRContingency, "1.6") {
		t.Fatalf("empty list: %v", err)
	}
	// The change survives a round trip through the file format.
	b, err := wider.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, back, wider)

	for _, tc := range []struct {
		r    role.UserRole
		srvs []string
		want error
	}{
		{role.SoLRContingency, []string{"1.6", "99.9"}, ErrUnknownVariant},
		{role.SoLRContingency, []string{"1.6", "1.6"}, ErrInvalid},
		{role.SoLRContingency, []string{"1.6 "}, ErrUnknownVariant},
		{"XX", []string{"1.6"}, role.ErrUnknownRole},
		{"sc", []string{"1.6"}, role.ErrUnknownRole},
	} {
		if got, err := base.WithAllowList(tc.r, tc.srvs); got != nil || !errors.Is(err, tc.want) {
			t.Errorf("WithAllowList(%s, %v) err %v, want %v", tc.r, tc.srvs, err, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	const ok = `{"version": 1, "variants": {"1.6": {"name": "Update Payment Mode", "critical": true, "roles": ["IS", "SC"]}}}`
	if e, err := Parse([]byte(ok)); err != nil || !e.Allowed(role.SoLRContingency, "1.6") {
		t.Fatalf("valid document: %v", err)
	}
	tests := []struct {
		name, doc string
		also      error
	}{
		{"not JSON", `{"version": 1,`, nil},
		{"empty", ``, nil},
		{"array", `[]`, nil},
		{"trailing data", ok + ` {}`, nil},
		{"unknown top-level field", strings.Replace(ok, `"version": 1,`, `"version": 1, "extra": 0,`, 1), nil},
		{"unknown variant field", strings.Replace(ok, `"critical": true,`, `"critical": true, "sc": true,`, 1), nil},
		{"duplicate top-level key", strings.Replace(ok, `"version": 1,`, `"version": 1, "version": 1,`, 1), nil},
		{"duplicate SRV", strings.Replace(ok, `}}}`, `}, "1.6": {"name": "x", "critical": true, "roles": ["SC","IS","GS","OU"]}}}`, 1), nil},
		{"duplicate variant field", strings.Replace(ok, `"roles": [`, `"roles": [], "roles": [`, 1), nil},
		{"no version", strings.Replace(ok, `"version": 1,`, ``, 1), nil},
		{"version 2", strings.Replace(ok, `"version": 1`, `"version": 2`, 1), nil},
		{"no variants", `{"version": 1, "variants": {}}`, nil},
		{"unknown role", strings.Replace(ok, `"SC"`, `"XX"`, 1), role.ErrUnknownRole},
		{"lower-case role", strings.Replace(ok, `"SC"`, `"sc"`, 1), nil},
		{"role twice", strings.Replace(ok, `"SC"`, `"IS"`, 1), nil},
		{"no roles field", strings.Replace(ok, `, "roles": ["IS", "SC"]`, ``, 1), nil},
		{"no critical", strings.Replace(ok, `"critical": true, `, ``, 1), nil},
		{"no name", strings.Replace(ok, `"name": "Update Payment Mode", `, ``, 1), nil},
		{"critical as string", strings.Replace(ok, `true`, `"Yes"`, 1), nil},
		{"bad SRV one part", strings.Replace(ok, `"1.6":`, `"16":`, 1), nil},
		{"bad SRV four parts", strings.Replace(ok, `"1.6":`, `"1.6.1.1":`, 1), nil},
		{"bad SRV leading zero", strings.Replace(ok, `"1.6":`, `"1.06":`, 1), nil},
		{"bad SRV sign", strings.Replace(ok, `"1.6":`, `"1.+6":`, 1), nil},
		{"bad SRV empty part", strings.Replace(ok, `"1.6":`, `"1..6":`, 1), nil},
		{"too large", `{"version": 1, "variants": {` + strings.Repeat(" ", maxDocument) + `}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse([]byte(tc.doc))
			if e != nil || !errors.Is(err, ErrInvalid) || (tc.also != nil && !errors.Is(err, tc.also)) {
				t.Fatalf("Parse = %v, %v; want ErrInvalid", e, err)
			}
		})
	}
}

func TestCompareSRV(t *testing.T) {
	t.Parallel()
	in := []string{"11.1", "1.7", "4.10", "1.1.1", "4.2", "1.6", "x", "1.1"}
	slices.SortFunc(in, compareSRV)
	want := []string{"1.1", "1.1.1", "1.6", "1.7", "4.2", "4.10", "11.1", "x"}
	if !slices.Equal(in, want) {
		t.Fatalf("sorted %v, want %v", in, want)
	}
}
