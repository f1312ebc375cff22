package raapi

// JSON bodies of the SoLR, ADT, device, policy and bundle endpoints
// (docs/api.md). Times are RFC 3339 strings on the wire so that the
// server chooses the error code for a bad one.

type DeclareBody struct {
	FailedParty string `json:"failed_party"`
	SRPUser     string `json:"srp_user"`
	Instruction string `json:"instruction"`
	Start       string `json:"start,omitempty"`     // default now
	End         string `json:"end,omitempty"`       // default open-ended
	RevokeAt    string `json:"revoke_at,omitempty"` // RFC 3339 (not before start), or "now" (default): at approval, or at start if later
}

// ApproveBody is POST /v1/solr-events/{id}/approve's optional body.
type ApproveBody struct {
	// CertificatesSHA256 is the dry run's certificates_sha256 the
	// approver read: the approval is E_RA_DRY_RUN_CHANGED unless the
	// failed party's certificates are still that set. Empty: not checked.
	CertificatesSHA256 string `json:"certificates_sha256,omitempty"`
}

type CloseBody struct {
	Reason string `json:"reason,omitempty"`
}

type AdtBody struct {
	File      []byte `json:"file"`      // base64 of the exact file bytes
	Signature []byte `json:"signature"` // base64 of the DER ECDSA signature
}

type DevicesBody struct {
	CSV string `json:"csv"`
}

type AllowListBody struct {
	SRVs []string `json:"srvs"`
}
