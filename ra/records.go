package ra

import "github.com/smki/smki/ra/records"

// The RA's stored records are defined in ra/records; these are the names
// its callers know them by.
type (
	// SoLREvent is records.SoLREvent: a SoLR event as recorded and shown.
	SoLREvent = records.SoLREvent
	// Job is records.Job: a scheduled piece of RA work.
	Job = records.Job
	// ADTRecord is records.ADTRecord: an accepted ADT file.
	ADTRecord = records.ADTRecord
	// Device is records.Device: one entry of the device registry.
	Device = records.Device
	// AllowList is records.AllowList: a stored allow-list override.
	AllowList = records.AllowList
	// RoleAllowList is records.RoleAllowList: one role's effective list.
	RoleAllowList = records.RoleAllowList
)

// PartyFailed is records.PartyFailed: the status of a party whose SoLR
// event was approved.
const PartyFailed = records.PartyFailed
