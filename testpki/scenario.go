package testpki

import (
	"fmt"

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
// supplier-b is healthy, srp-1 is the Shared Resource Provider that holds
// the SoLR Contingency role.
var (
	SupplierA = Party{Name: "supplier-a", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0A")}
	SupplierB = Party{Name: "supplier-b", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-0B")}
	SRP       = Party{Name: "srp-1", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-5C")}
	// RA is the identity of the RA's own bundle-signing certificate (OU=89).
	RA = Party{Name: "smki-ra", ID: eui64.MustParse("90-B3-D5-1F-30-00-00-02")}
)

// Users returns the scenario's users. supplier-a-xml carries the User ID
// the DUIS templates in DCC's test material use as originator, so those
// templates can be signed as-is. The last two are certificates of
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
	Supplier eui64.ID // registered Supplier User ID
	SMETS    int      // 1 or 2
}

// DeviceCount is the number of devices the scenario registers.
const DeviceCount = 60

// Devices returns the registry: devices 00-DB-12-34-56-78-90-A0 onwards
// (the first two are the targets of DCC's DUIS templates). The first half
// belongs to supplier-a, the rest to supplier-b; SMETS generations
// alternate so each supplier has both.
func Devices() []Device {
	a, _ := UserByName("supplier-a-xml")
	b, _ := UserByName("supplier-b-xml")
	out := make([]Device, 0, DeviceCount)
	for i := range DeviceCount {
		id := eui64.MustParse("00-DB-12-34-56-78-90-A0")
		v := uint16(id[6])<<8 | uint16(id[7])
		v += uint16(i)
		id[6], id[7] = byte(v>>8), byte(v)
		d := Device{ID: id, Supplier: a.ID, SMETS: 1 + i%2}
		if i >= DeviceCount/2 {
			d.Supplier = b.ID
		}
		out = append(out, d)
	}
	return out
}
