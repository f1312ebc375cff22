package raapi

import (
	"encoding/json"

	"github.com/smki/smki/internal/credential"
)

// The JSON bodies of the HTTP API (docs/api.md, ra/raserver/openapi.yaml). IDs are
// strings on the wire so that the server, not encoding/json, chooses the
// error code for a bad one.

type PartyBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PartyStatusBody is POST /v1/parties/{id}/status: "suspended" or
// "active" (reinstate).
type PartyStatusBody struct {
	Status string `json:"status"`
}

type UserBody struct {
	ID      string `json:"id"`
	PartyID string `json:"party_id"`
	Role    string `json:"role"`
	Name    string `json:"name"`
}

// UserWithdrawBody is POST /v1/users/{id}/withdraw: the revocation
// reason of the user's certificates (name or number; absent:
// privilegeWithdrawn) and yes (without it, a dry run).
type UserWithdrawBody struct {
	Reason json.RawMessage `json:"reason,omitempty"`
	Yes    bool            `json:"yes,omitempty"`
}

// ADTWithdrawBody is POST /v1/adt/{sc_user}/{supplier_user}/withdraw:
// why (optional, 1-200 printable characters).
type ADTWithdrawBody struct {
	Reason string `json:"reason,omitempty"`
}

type OfficerBody struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	PartyID string `json:"party_id,omitempty"`
	CSR     string `json:"csr,omitempty"`
}

// OfficerStatusBody is POST /v1/officers/{id}/status: "suspended" or
// "active" (reinstate).
type OfficerStatusBody struct {
	Status string `json:"status"`
}

// credentialBody renews or re-issues an officer's credential; CSR is
// required for a re-issue (Service.RenewOfficerCredential).
type CredentialBody struct {
	CSR string `json:"csr,omitempty"`
}

type OfficerCreated struct {
	Officer    Officer               `json:"officer"`
	Credential credential.Credential `json:"credential"`
}

type EnrolBody struct {
	UserID   string `json:"user_id"`
	Profile  string `json:"profile"`
	CSR      string `json:"csr"`
	Mode     string `json:"mode,omitempty"` // default enrol
	Replaces string `json:"replaces,omitempty"`
}

type EnrolResult struct {
	Certificate CertInfo `json:"certificate"`
	PEM         string   `json:"pem"`
}

type RevokeBody struct {
	Serial  string          `json:"serial,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
	PartyID string          `json:"party_id,omitempty"`
	Reason  json.RawMessage `json:"reason,omitempty"` // name or number
	Yes     bool            `json:"yes,omitempty"`
	DryRun  bool            `json:"dry_run,omitempty"`
}

// SignerRevocationBody is POST /v1/signer-revocations: a request to revoke
// one of the RA's own signer certificates (approved by a second person).
type SignerRevocationBody struct {
	Serial string          `json:"serial"`
	Reason json.RawMessage `json:"reason,omitempty"` // name or number
}

type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// The list answers: each a JSON object with one array member, so that an
// answer can grow members without breaking a client (openapi.yaml).

type PartyList struct {
	Parties []Party `json:"parties"`
}

type UserList struct {
	Users []User `json:"users"`
}

type OfficerList struct {
	Officers []Officer `json:"officers"`
}

// CertificateList is one page of GET /v1/certificates (issue 20). Next,
// when set, is the cursor of the following page (pass it as after=); an
// answer without it is the last page.
type CertificateList struct {
	Certificates []CertInfo `json:"certificates"`
	Next         string     `json:"next,omitempty"`
}

type EventList struct {
	Events []SoLREvent `json:"events"`
}

type SignerRevocationList struct {
	Requests []SignerRevocation `json:"requests"`
}

type ADTList struct {
	ADT []ADTRecord `json:"adt"`
}

type DeviceList struct {
	Devices []Device `json:"devices"`
}

type AllowLists struct {
	AllowLists []RoleAllowList `json:"allow_lists"`
}
