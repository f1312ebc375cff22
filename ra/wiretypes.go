package ra

import "github.com/smki/smki/ra/raapi"

// The RA's requests and answers are wire types (ra/raapi owns them).
type (
	Party          = raapi.Party
	User           = raapi.User
	UserWithdrawal = raapi.UserWithdrawal
	Officer        = raapi.Officer
	OfficerRequest = raapi.OfficerRequest
	EnrolMode      = raapi.EnrolMode
	EnrolRequest   = raapi.EnrolRequest
	Issued         = raapi.Issued
	RevokeRequest  = raapi.RevokeRequest
	RevokeResult   = raapi.RevokeResult
	CertQuery      = raapi.CertQuery
	AuditReport    = raapi.AuditReport
	Revocation     = raapi.Revocation
)

// Enrolment modes (raapi.ModeEnrol, ...).
const (
	ModeEnrol = raapi.ModeEnrol
	ModeRenew = raapi.ModeRenew
	ModeRekey = raapi.ModeRekey
)
