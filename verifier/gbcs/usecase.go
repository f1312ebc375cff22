package gbcs

import "fmt"

// UseCase names a GBCS use case, e.g. "ECS02". Message codes this package
// does not name are "UNKNOWN:0x" followed by four upper-case hex digits.
type UseCase string

// The SR 1.6 "Update Payment Mode" use cases.
const (
	ECS02 UseCase = "ECS02" // set ESME (electricity) payment mode to Credit
	ECS03 UseCase = "ECS03" // set ESME payment mode to Prepayment
	GCS02 UseCase = "GCS02" // set GSME (gas) payment mode to Credit
	GCS03 UseCase = "GCS03" // set GSME payment mode to Prepayment
)

// GBCS Message Codes (GBCS Table 13.3.4) this package acts on.
const (
	CodeECS02 uint16 = 0x001A
	CodeECS03 uint16 = 0x001B
	CodeGCS02 uint16 = 0x006C
	CodeGCS03 uint16 = 0x006D
	// CodeFutureDatedDLMS is the "Future Dated Execution Of Instruction"
	// alert of an ESME (DLMS COSEM payload); it reports on an earlier
	// command, whose Message Code it carries.
	CodeFutureDatedDLMS uint16 = 0x00CC
	// CodeFutureDatedGBZ is the same alert from a GSME (GBZ payload).
	CodeFutureDatedGBZ uint16 = 0x00CD
)

var useCases = map[uint16]UseCase{
	CodeECS02: ECS02,
	CodeECS03: ECS03,
	CodeGCS02: GCS02,
	CodeGCS03: GCS03,
}

// UseCaseOf returns the use case a Message Code identifies.
func UseCaseOf(code uint16) UseCase {
	if u, ok := useCases[code]; ok {
		return u
	}
	return UseCase(fmt.Sprintf("UNKNOWN:0x%04X", code))
}

// Known reports whether u is a use case this package names.
func (u UseCase) Known() bool {
	for _, k := range useCases {
		if k == u {
			return true
		}
	}
	return false
}

// ToCredit reports whether u changes the payment mode to Credit. It says
// nothing about the payload; ToCredit (the function) checks that too.
func (u UseCase) ToCredit() bool { return u == ECS02 || u == GCS02 }

// Kind is what a message is in the SR 1.6 flow.
type Kind uint8

// Kinds. A Pre-Command is what the DCC returns for Command Variant 4: a
// command (CRA flag 1) in a General Signing frame with no signature field
// at all. A Command is any other CRA-1 message: the user's Signed
// Pre-Command (General Signing with its signature), or the command as the
// DCC sends it to the device (the same inside a MAC header).
const (
	KindPreCommand Kind = iota + 1
	KindCommand
	KindResponse
	KindAlert
)

// String returns the name DCC's test vectors use in their file names.
func (k Kind) String() string {
	switch k {
	case KindPreCommand:
		return "PRECOMMAND"
	case KindCommand:
		return "COMMAND"
	case KindResponse:
		return "RESPONSE"
	case KindAlert:
		return "ALERT"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}
