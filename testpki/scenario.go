package testpki

import (
	"fmt"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// Party is a SEC Party of the scenario.
type Party struct {
	Name string
	ID   eui64.ID
}

// User is a certificate holder of the scenario: its directory name under
// users/, its User ID, party, User Role and certificate profile.
type User struct {
	Name    string
	ID      eui64.ID
	Party   Party
	Role    role.UserRole
	Profile ca.Profile
}

// The scenario's parties (docs/testpki.md): supplier-a has failed,
// supplier-b is healthy (the import and export supplier of its devices),
// srp-1 is the Shared Resource Provider that holds the SoLR Contingency
// role; supplier-c supplies gas, and agent-1, dno-1, gdn-1 and other-1
// hold the other User Roles, so that every role has a user.
var (
	SupplierA = Party{Name: "supplier-a", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0A")}
	SupplierB = Party{Name: "supplier-b", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0B")}
	SRP       = Party{Name: "srp-1", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-5C")}
	SupplierC = Party{Name: "supplier-c", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0C")}
	Agent     = Party{Name: "agent-1", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0D")}
	DNO       = Party{Name: "dno-1", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0E")}
	GDN       = Party{Name: "gdn-1", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0F")}
	Other     = Party{Name: "other-1", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-10")}
	// RA is the identity of the RA's own bundle-signing certificate (OU=89).
	RA = Party{Name: "smki-ra", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-02")}
)

// Parties returns the scenario's SEC Parties but the RA.
func Parties() []Party {
	return []Party{SupplierA, SupplierB, SRP, SupplierC, Agent, DNO, GDN, Other}
}

// Users returns the scenario's users: an XML-signing user for every User
// Role, and the suppliers' digital-signing users. supplier-a-xml carries
// the User ID the DUIS templates in DCC's test material use as
// originator, so those templates can be signed as-is. The last two are
// certificates of
// supplier-b's XML-signing user made for the negative cases (Cases):
// supplier-b-expired expired the day before At, and supplier-b-gs is
// bound to the Gas Supplier role while the bundle has the user as Import
// Supplier.
func Users() []User {
	return []User{
		{Name: "supplier-a-xml", ID: eui64.MustParse("90-B3-D5-1F-30-01-00-00"), Party: SupplierA, Role: role.ImportSupplier, Profile: ca.XMLSigning},
		{Name: "supplier-a-ds", ID: eui64.MustParse("90-B3-D5-1F-30-01-00-00"), Party: SupplierA, Role: role.ImportSupplier, Profile: ca.DigitalSigning},
		{Name: "supplier-b-xml", ID: eui64.MustParse("90-B3-D5-1F-30-02-00-00"), Party: SupplierB, Role: role.ImportSupplier, Profile: ca.XMLSigning},
		{Name: "supplier-b-ds", ID: eui64.MustParse("90-B3-D5-1F-30-02-00-00"), Party: SupplierB, Role: role.ImportSupplier, Profile: ca.DigitalSigning},
		{Name: "srp-sc-xml", ID: eui64.MustParse("90-B3-D5-1F-30-05-00-00"), Party: SRP, Role: role.SoLRContingency, Profile: ca.XMLSigning},
		{Name: "supplier-b-es-xml", ID: eui64.MustParse("90-B3-D5-1F-30-02-00-01"), Party: SupplierB, Role: role.ExportSupplier, Profile: ca.XMLSigning},
		{Name: "supplier-c-gs-xml", ID: eui64.MustParse("90-B3-D5-1F-30-03-00-00"), Party: SupplierC, Role: role.GasSupplier, Profile: ca.XMLSigning},
		{Name: "agent-rsa-xml", ID: eui64.MustParse("90-B3-D5-1F-30-06-00-00"), Party: Agent, Role: role.RegisteredSupplierAgent, Profile: ca.XMLSigning},
		{Name: "dno-ed-xml", ID: eui64.MustParse("90-B3-D5-1F-30-07-00-00"), Party: DNO, Role: role.ElectricityDistributor, Profile: ca.XMLSigning},
		{Name: "gdn-gt-xml", ID: eui64.MustParse("90-B3-D5-1F-30-08-00-00"), Party: GDN, Role: role.GasTransporter, Profile: ca.XMLSigning},
		{Name: "other-ou-xml", ID: eui64.MustParse("90-B3-D5-1F-30-09-00-00"), Party: Other, Role: role.OtherUser, Profile: ca.XMLSigning},
		{Name: ExpiredUser, ID: eui64.MustParse("90-B3-D5-1F-30-02-00-00"), Party: SupplierB, Role: role.ImportSupplier, Profile: ca.XMLSigning},
		{Name: WrongRoleUser, ID: eui64.MustParse("90-B3-D5-1F-30-02-00-00"), Party: SupplierB, Role: role.GasSupplier, Profile: ca.XMLSigning},
	}
}

// The users whose certificates exist for a negative case.
const (
	// ExpiredUser's certificate ended before At (CERT).
	ExpiredUser = "supplier-b-expired"
	// WrongRoleUser's certificate is bound to GS, the bundle's user is IS (E1).
	WrongRoleUser = "supplier-b-gs"
)

// UserByName returns the scenario user called name.
func UserByName(name string) (User, error) {
	for _, u := range Users() {
		if u.Name == name {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("testpki: no user %q", name)
}

// Device is one entry of the device registry.
type Device struct {
	ID       eui64.ID
	Supplier eui64.ID // registered Supplier User ID (import or gas supplier)
	SMETS    int      // 1 or 2
	// The other registrants (zero: none): export supplier, registered
	// supplier agent, network operator (ED for electricity, GT for gas).
	ExportSupplier, Agent, NetworkOperator eui64.ID
	Gas                                    bool // a gas meter (supplier-c's)
}

// DeviceCount is the number of devices the scenario registers.
const DeviceCount = 70

// Devices returns the registry: devices 00-DB-12-34-56-78-90-A0 onwards
// (the first two are the targets of DCC's DUIS templates). The first 30
// are supplier-a's electricity meters, the next 30 supplier-b's (its
// export supplier user, agent-1 and dno-1 registered too), the last 10
// supplier-c's gas meters (agent-1 and gdn-1 registered too); SMETS
// generations alternate so each supplier has both.
func Devices() []Device {
	user := func(name string) eui64.ID { u, _ := UserByName(name); return u.ID }
	out := make([]Device, 0, DeviceCount)
	for i := range DeviceCount {
		id := eui64.MustParse("00-DB-12-34-56-78-90-A0")
		v := uint16(id[6])<<8 | uint16(id[7])
		v += uint16(i)
		id[6], id[7] = byte(v>>8), byte(v)
		d := Device{ID: id, Supplier: user("supplier-a-xml"), SMETS: 1 + i%2}
		switch {
		case i >= 60:
			d.Supplier, d.Agent, d.NetworkOperator, d.Gas = user("supplier-c-gs-xml"), user("agent-rsa-xml"), user("gdn-gt-xml"), true
		case i >= 30:
			d.Supplier, d.ExportSupplier, d.Agent, d.NetworkOperator = user("supplier-b-xml"), user("supplier-b-es-xml"), user("agent-rsa-xml"), user("dno-ed-xml")
		}
		out = append(out, d)
	}
	return out
}

// registrations are d's registrants besides its supplier, as the bundle
// and the device file carry them.
func (d Device) registrations() []bundle.Registration {
	var out []bundle.Registration
	for _, r := range []bundle.Registration{
		{Capacity: policy.ExportSupplier, User: d.ExportSupplier},
		{Capacity: policy.SupplierAgent, User: d.Agent},
		{Capacity: policy.NetworkOperator, User: d.NetworkOperator},
	} {
		if !r.User.IsZero() {
			out = append(out, r)
		}
	}
	return out
}
