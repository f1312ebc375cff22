package role

import (
	"fmt"
	"strconv"
)

// RemotePartyRole is the SMKI Remote Party Role code a certificate carries in
// its OU, written as two upper-case hex digits ("02", "87").
type RemotePartyRole uint8

// Remote Party Role codes, as in DCC's test certificates.
const (
	RPRoot                RemotePartyRole = 0x00
	RPRecovery            RemotePartyRole = 0x01
	RPSupplier            RemotePartyRole = 0x02
	RPNetworkOperator     RemotePartyRole = 0x03
	RPAccessControlBroker RemotePartyRole = 0x04
	RPTransitionalCoS     RemotePartyRole = 0x05
	RPWANProvider         RemotePartyRole = 0x06
	RPIssuingAuthority    RemotePartyRole = 0x07
	RPLoadController      RemotePartyRole = 0x08
	RPOther               RemotePartyRole = 0x7F
	RPXMLSign             RemotePartyRole = 0x87
	RPDSPXMLSign          RemotePartyRole = 0x89
)

// rpNames are the Remote Party Roles' names, as DCC's test certificates'
// file names spell them.
var rpNames = map[RemotePartyRole]string{
	RPRoot: "root", RPRecovery: "recovery", RPSupplier: "supplier", RPNetworkOperator: "networkOperator",
	RPAccessControlBroker: "accessControlBroker", RPTransitionalCoS: "transitionalCoS", RPWANProvider: "wanProvider",
	RPIssuingAuthority: "issuingAuthority", RPLoadController: "loadController", RPOther: "other",
	RPXMLSign: "xmlSign", RPDSPXMLSign: "dspXmlSign",
}

// Name is the Remote Party Role's name ("xmlSign"), "" for a code smki
// does not know.
func (p RemotePartyRole) Name() string { return rpNames[p] }

// OU returns the code as it appears in a certificate's OU.
func (p RemotePartyRole) OU() string { return fmt.Sprintf("%02X", uint8(p)) }

// ParseRemotePartyRole parses an OU value such as "87". It accepts exactly two
// hex digits.
func ParseRemotePartyRole(ou string) (RemotePartyRole, error) {
	if len(ou) != 2 {
		return 0, fmt.Errorf("%w: OU %q is not two hex digits", ErrUnknownRole, ou)
	}
	v, err := strconv.ParseUint(ou, 16, 8)
	if err != nil {
		return 0, fmt.Errorf("%w: OU %q: %v", ErrUnknownRole, ou, err)
	}
	return RemotePartyRole(v), nil
}

// DigitalSigningRemotePartyRole is the Remote Party Role a User Role's
// digital-signing and key-agreement certificates carry. Suppliers are 02,
// network operators (ED, GT) 03; other roles use 7F (other).
func (r UserRole) DigitalSigningRemotePartyRole() RemotePartyRole {
	switch r {
	case ImportSupplier, ExportSupplier, GasSupplier:
		return RPSupplier
	case ElectricityDistributor, GasTransporter:
		return RPNetworkOperator
	}
	return RPOther
}
