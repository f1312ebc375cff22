package verifier

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

const tmplRead = "ECS17b_4.1.1_REQUEST_DUIS.XML" // non-critical, Command Variant 2

// asSRV rewrites a non-critical template's Service Reference and Variant.
func asSRV(t testing.TB, data []byte, srv string) []byte {
	t.Helper()
	ref := srv
	if parts := strings.Split(srv, "."); len(parts) == 3 {
		ref = parts[0] + "." + parts[1]
	}
	out := strings.Replace(string(data), "<sr:ServiceReference>4.1</sr:ServiceReference>", "<sr:ServiceReference>"+ref+"</sr:ServiceReference>", 1)
	out = strings.Replace(out, "<sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant>", "<sr:ServiceReferenceVariant>"+srv+"</sr:ServiceReferenceVariant>", 1)
	if !strings.Contains(out, "<sr:ServiceReferenceVariant>"+srv+"<") {
		t.Fatal("template has no SRV 4.1.1 to rewrite")
	}
	return []byte(out)
}

// nonDeviceSRV returns the first non-critical SRV of Service Request 8
// (DCC management, sent as Command Variant 8) role r may send, or "".
func nonDeviceSRV(r role.UserRole) string {
	e := policy.Default()
	for _, srv := range e.AllowList(r) {
		if v, _ := e.Variant(srv); !v.Critical && strings.HasPrefix(srv, "8.") {
			return srv
		}
	}
	return ""
}

// asNonDevice makes a Command Variant 2 request Command Variant 8.
func asNonDevice(t testing.TB, data []byte) []byte {
	t.Helper()
	out := strings.Replace(string(data), "<sr:CommandVariant>2</sr:CommandVariant>", "<sr:CommandVariant>8</sr:CommandVariant>", 1)
	if out == string(data) {
		t.Fatal("template has no Command Variant 2 to rewrite")
	}
	return []byte(out)
}

// dccTarget is a RequestID target that is no device: the DCC's.
var dccTarget = eui64.MustParse("90-B3-D5-1F-30-FF-00-01")

// nonCritical returns the first non-critical SRV role r may send.
func nonCritical(t testing.TB, r role.UserRole) string {
	t.Helper()
	e := policy.Default()
	for _, srv := range e.AllowList(r) {
		if v, _ := e.Variant(srv); !v.Critical {
			return srv
		}
	}
	t.Fatalf("role %s may send no non-critical SRV", r)
	return ""
}

// TestDeviceEligibilityEveryRole is the E4 table (issue 16): every role
// of the SRV matrix sends an SRV it may send to a device registered to it
// in its role's capacity, to one registered to another party's user of the
// same role, and to a device the registry does not know; and a Non-Device
// Service Request (Command Variant 8) to the DCC, which the device rule
// does not apply to, and one to another party's device, which it does.
func TestDeviceEligibilityEveryRole(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	rules := policy.DefaultDeviceRules()
	b := cloneBundle(t, s.bundle)
	type actor struct {
		id   identity
		user eui64.ID
	}
	mine, theirs := map[role.UserRole]actor{}, map[role.UserRole]actor{}
	devMine, devTheirs := map[role.UserRole]eui64.ID{}, map[role.UserRole]eui64.ID{}
	n := byte(0x10)
	for _, r := range role.All() {
		if r == role.SoLRContingency {
			continue
		}
		for _, side := range []map[role.UserRole]actor{mine, theirs} {
			n++
			uid := eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x40, 0x00, n}
			pid := eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x50, 0x00, n}
			var id identity
			id.cert, id.key = s.pki.leaf(t, leafSpec{id: uid, roles: []role.UserRole{r}})
			side[r] = actor{id: id, user: uid}
			b.Users = append(b.Users, bundle.User{UserID: uid, PartyID: pid, Role: r, Status: bundle.StatusActive})
			b.Parties = append(b.Parties, bundle.Party{ID: pid, Name: "party " + uid.String(), Status: bundle.StatusActive})
			b.Certificates = append(b.Certificates, id.cert.Raw)
		}
		for _, pair := range []struct {
			devs map[role.UserRole]eui64.ID
			to   actor
		}{{devMine, mine[r]}, {devTheirs, theirs[r]}} {
			n++
			dev := eui64.ID{0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x70, n}
			pair.devs[r] = dev
			d := bundle.Device{Device: dev, SupplierUser: userB, SMETS: 2}
			rule, _ := rules.Rule(r)
			switch {
			case rule.Kind != policy.Registered:
			case r == role.ImportSupplier || r == role.GasSupplier:
				// The legacy path: the device's own supplier_user counts in
				// the capacity of its role.
				d.SupplierUser = pair.to.user
			default:
				d.Registrations = []bundle.Registration{{Capacity: rule.Capacity, User: pair.to.user}}
			}
			b.Devices = append(b.Devices, d)
		}
	}
	type tc struct {
		r      role.UserRole
		target string
		want   string
	}
	var tests []tc
	for _, r := range role.All() {
		if len(policy.Default().AllowList(r)) == 0 {
			continue
		}
		rule, ok := rules.Rule(r)
		if !ok {
			t.Fatalf("role %s of the SRV matrix has no device rule", r)
		}
		other := CodeE4
		if rule.Kind == policy.AnyDevice {
			other = ""
		}
		tests = append(tests, tc{r, "registered", ""}, tc{r, "another party's", other}, tc{r, "unknown", CodeE4})
		// SC may send no Service Request 8; its SR 1.6, critical, sent as
		// Command Variant 8 is refused by the rule that applies (E2) first.
		nonDevice, nonDeviceOther := "", other
		if r == role.SoLRContingency {
			nonDevice, nonDeviceOther = CodeE2, CodeE2
		}
		tests = append(tests, tc{r, "non-device (DCC)", nonDevice}, tc{r, "non-device, another party's", nonDeviceOther})
	}
	if len(tests) != 5*8 {
		t.Fatalf("%d cases, want 5 per role of the SRV matrix (8)", len(tests))
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s %s device", tt.r, tt.target), func(t *testing.T) {
			t.Parallel()
			var msg []byte
			ctr := uint64(i + 1)
			nonDevice := strings.HasPrefix(tt.target, "non-device")
			switch {
			case tt.r == role.SoLRContingency && nonDevice:
				dev := map[string]eui64.ID{"non-device (DCC)": dccTarget, "non-device, another party's": devB}[tt.target]
				msg = request(t, tmplCredit, userSC, dev, ctr)
				msg = []byte(strings.Replace(string(msg), "<sr:CommandVariant>4</sr:CommandVariant>", "<sr:CommandVariant>8</sr:CommandVariant>", 1))
				msg = sign(t, msg, s.sc, false)
			case tt.r == role.SoLRContingency:
				// SC keeps its SoLR rule: the failed supplier's device, a
				// healthy supplier's, one not registered.
				dev := map[string]eui64.ID{"registered": devA1, "another party's": devB, "unknown": devNone}[tt.target]
				msg = sign(t, request(t, tmplCredit, userSC, dev, ctr), s.sc, false)
			case nonDevice:
				a := mine[tt.r]
				srv := nonDeviceSRV(tt.r)
				if srv == "" {
					t.Fatalf("role %s may send no non-critical Service Request 8", tt.r)
				}
				dev := map[string]eui64.ID{"non-device (DCC)": dccTarget, "non-device, another party's": devTheirs[tt.r]}[tt.target]
				msg = sign(t, asNonDevice(t, asSRV(t, request(t, tmplRead, a.user, dev, ctr), srv)), a.id, false)
			default:
				a := mine[tt.r]
				dev := map[string]eui64.ID{"registered": devMine[tt.r], "another party's": devTheirs[tt.r], "unknown": devNone}[tt.target]
				msg = sign(t, asSRV(t, request(t, tmplRead, a.user, dev, ctr), nonCritical(t, tt.r)), a.id, false)
			}
			// A verifier per case: OU's two accepts must not race on the
			// replay counter.
			v, err := New(s.options(b))
			if err != nil {
				t.Fatal(err)
			}
			d := v.Verify(msg, testNow.Add(time.Minute))
			t.Logf("%s %s: %s", d.Decision, d.Code, d.Reason)
			if d.Code != tt.want || d.Accepted() != (tt.want == "") {
				t.Fatalf("Verify = %s %q (%s), want %q", d.Decision, d.Code, d.Reason, tt.want)
			}
		})
	}
}

// TestDeviceRegistrationTimes: a registration takes effect at its From
// (change of supplier, also in the shape the RA imports one with a future
// effective_from), a registration of nobody ends one, a device leaves the
// registry at its Until, the registry's authority can be waived per role,
// and the legacy supplier_user yields to a registration in its capacity.
func TestDeviceRegistrationTimes(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	cos := testNow.Add(time.Hour)
	read := func(t testing.TB, dev eui64.ID, ctr uint64) []byte {
		return sign(t, asSRV(t, request(t, tmplRead, userB, dev, ctr), "4.1.1"), s.b, false)
	}
	tests := []struct {
		name   string
		bundle func(b *bundle.Bundle)
		dev    eui64.ID
		at     time.Time
		want   string
	}{
		{"supplier_user is the import supplier", nil, devB, testNow, ""},
		{"another supplier's device", nil, devA1, testNow, CodeE4},
		{"before a change of supplier to B", func(b *bundle.Bundle) {
			b.Devices[1].Registrations = []bundle.Registration{{Capacity: policy.ImportSupplier, User: userB, From: cos}}
		}, devA1, cos.Add(-time.Second), CodeE4},
		{"at a change of supplier to B", func(b *bundle.Bundle) {
			b.Devices[1].Registrations = []bundle.Registration{{Capacity: policy.ImportSupplier, User: userB, From: cos}}
		}, devA1, cos, ""},
		{"after a change of supplier away from B", func(b *bundle.Bundle) {
			b.Devices[3].Registrations = []bundle.Registration{
				{Capacity: policy.ImportSupplier, User: userB},
				{Capacity: policy.ImportSupplier, User: userA, From: cos},
			}
		}, devB, cos.Add(time.Second), CodeE4},
		// The shape the RA imports a change of supplier with a future
		// effective_from in: supplier_user is the new supplier, the old one
		// registered explicitly until then.
		{"imported change of supplier to B, before it", func(b *bundle.Bundle) {
			b.Devices[1].SupplierUser = userB
			b.Devices[1].Registrations = []bundle.Registration{
				{Capacity: policy.ImportSupplier, User: userA},
				{Capacity: policy.ImportSupplier, User: userB, From: cos},
			}
		}, devA1, cos.Add(-time.Second), CodeE4},
		{"imported change of supplier to B, at it", func(b *bundle.Bundle) {
			b.Devices[1].SupplierUser = userB
			b.Devices[1].Registrations = []bundle.Registration{
				{Capacity: policy.ImportSupplier, User: userA},
				{Capacity: policy.ImportSupplier, User: userB, From: cos},
			}
		}, devA1, cos, ""},
		{"imported change of supplier away from B, before it", func(b *bundle.Bundle) {
			b.Devices[3].SupplierUser = userA
			b.Devices[3].Registrations = []bundle.Registration{
				{Capacity: policy.ImportSupplier, User: userB},
				{Capacity: policy.ImportSupplier, User: userA, From: cos},
			}
		}, devB, cos.Add(-time.Second), ""},
		{"imported change of supplier away from B, at it", func(b *bundle.Bundle) {
			b.Devices[3].SupplierUser = userA
			b.Devices[3].Registrations = []bundle.Registration{
				{Capacity: policy.ImportSupplier, User: userB},
				{Capacity: policy.ImportSupplier, User: userA, From: cos},
			}
		}, devB, cos, CodeE4},
		{"before the device leaves the registry", func(b *bundle.Bundle) {
			b.Devices[3].Until = cos
		}, devB, cos.Add(-time.Second), ""},
		{"after the device left the registry", func(b *bundle.Bundle) {
			b.Devices[3].Until = cos
		}, devB, cos, CodeE4},
		{"after the device left the registry, not authoritative for IS", func(b *bundle.Bundle) {
			b.Devices[3].Until = cos
			b.RegistryNotAuthoritative = []role.UserRole{role.ImportSupplier}
		}, devB, cos, ""},
		{"before the end of the import supplier registration", func(b *bundle.Bundle) {
			b.Devices[3].Registrations = []bundle.Registration{{Capacity: policy.ImportSupplier, From: cos}}
		}, devB, cos.Add(-time.Second), ""},
		{"after the end of the import supplier registration", func(b *bundle.Bundle) {
			b.Devices[3].Registrations = []bundle.Registration{{Capacity: policy.ImportSupplier, From: cos}}
		}, devB, cos, CodeE4},
		{"a registration in another capacity does not count", func(b *bundle.Bundle) {
			b.Devices[1].Registrations = []bundle.Registration{{Capacity: policy.ExportSupplier, User: userB}}
		}, devA1, testNow, CodeE4},
		{"unknown device refused by default", nil, devNone, testNow, CodeE4},
		{"unknown device, registry not authoritative for IS", func(b *bundle.Bundle) {
			b.RegistryNotAuthoritative = []role.UserRole{role.ImportSupplier}
		}, devNone, testNow, ""},
		{"unknown device, registry not authoritative for another role", func(b *bundle.Bundle) {
			b.RegistryNotAuthoritative = []role.UserRole{role.GasSupplier}
		}, devNone, testNow, CodeE4},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := s.bundleWith(t, tt.bundle)
			if b.Devices[1].Device != devA1 || b.Devices[3].Device != devB {
				t.Fatal("scenario devices moved")
			}
			v, err := New(s.options(b))
			if err != nil {
				t.Fatal(err)
			}
			d := v.Verify(read(t, tt.dev, uint64(i+1)), tt.at)
			t.Logf("%s %s: %s", d.Decision, d.Code, d.Reason)
			if d.Code != tt.want || d.Accepted() != (tt.want == "") {
				t.Fatalf("Verify = %s %q (%s), want %q", d.Decision, d.Code, d.Reason, tt.want)
			}
		})
	}
}

// TestPartyStatus: a user of a party that is not active is refused PARTY
// (not E4, not E1), from the bundle or from a newer feed page, and a feed
// page reinstating the party lets its users through again.
func TestPartyStatus(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	read := func(t testing.TB, ctr uint64) []byte {
		return sign(t, asSRV(t, request(t, tmplRead, userB, devB, ctr), "4.1.1"), s.b, false)
	}
	for _, st := range []string{bundle.StatusSuspended, bundle.StatusFailed, bundle.StatusClosed} {
		t.Run("bundle "+st, func(t *testing.T) {
			t.Parallel()
			b := cloneBundle(t, s.bundle)
			b.Parties[1].Status = st
			v, err := New(s.options(b))
			if err != nil {
				t.Fatal(err)
			}
			if d := v.Verify(read(t, 1), testNow); d.Code != CodePARTY {
				t.Fatalf("Verify = %+v, want PARTY", d)
			}
		})
	}
	t.Run("feed", func(t *testing.T) {
		t.Parallel()
		b := cloneBundle(t, s.bundle)
		b.PartySeq = 3
		v, err := New(s.options(b))
		if err != nil {
			t.Fatal(err)
		}
		mustAccept(t, v, read(t, 1))
		suspendB := []bundle.Party{{ID: partyA, Status: bundle.StatusFailed}, {ID: partyB, Status: bundle.StatusSuspended}}
		// A page no newer than the bundle's party data changes nothing.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow, PartySeq: 3, Parties: suspendB}); err != nil {
			t.Fatal(err)
		}
		mustAccept(t, v, read(t, 2))
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow, PartySeq: 4, Parties: suspendB}); err != nil {
			t.Fatal(err)
		}
		if d := v.Verify(read(t, 3), testNow.Add(time.Minute)); d.Code != CodePARTY {
			t.Fatalf("after the suspension: %+v, want PARTY", d)
		}
		if v.PartySeq() != 4 {
			t.Fatalf("PartySeq = %d, want 4", v.PartySeq())
		}
		// An older party list is refused, and changes nothing.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow, PartySeq: 3}); err == nil {
			t.Fatal("older party_seq accepted")
		}
		// Reinstated: the list no longer names B.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 7, IssuedAt: testNow, PartySeq: 5, Parties: suspendB[:1]}); err != nil {
			t.Fatal(err)
		}
		mustAccept(t, v, read(t, 4))
		// A page without party data keeps the list in force.
		if err := v.AddRevocations(&bundle.FeedPage{Seq: 8, IssuedAt: testNow}); err != nil {
			t.Fatal(err)
		}
		mustAccept(t, v, read(t, 5))
	})
}
