package ra

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// The JSON bodies of the HTTP API (docs/api.md, ra/openapi.yaml). IDs are
// strings on the wire so that the server, not encoding/json, chooses the
// error code for a bad one.

type partyBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userBody struct {
	ID      string `json:"id"`
	PartyID string `json:"party_id"`
	Role    string `json:"role"`
	Name    string `json:"name"`
}

type officerBody struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	PartyID string `json:"party_id,omitempty"`
	CSR     string `json:"csr,omitempty"`
}

// credentialBody renews or re-issues an officer's credential; CSR is
// required for a re-issue (Service.RenewOfficerCredential).
type credentialBody struct {
	CSR string `json:"csr,omitempty"`
}

type officerCreated struct {
	Officer    Officer    `json:"officer"`
	Credential Credential `json:"credential"`
}

type enrolBody struct {
	UserID   string `json:"user_id"`
	Profile  string `json:"profile"`
	CSR      string `json:"csr"`
	Mode     string `json:"mode,omitempty"` // default enrol
	Replaces string `json:"replaces,omitempty"`
}

type enrolResult struct {
	Certificate CertInfo `json:"certificate"`
	PEM         string   `json:"pem"`
}

type revokeBody struct {
	Serial  string          `json:"serial,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
	PartyID string          `json:"party_id,omitempty"`
	Reason  json.RawMessage `json:"reason,omitempty"` // name or number
	Yes     bool            `json:"yes,omitempty"`
	DryRun  bool            `json:"dry_run,omitempty"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// optEUI parses an optional EUI-64 ("" is the zero ID).
func optEUI(what, s string) (eui64.ID, error) {
	if s == "" {
		return eui64.ID{}, nil
	}
	id, err := eui64.Parse(s)
	if err != nil {
		return id, fmt.Errorf("%w: %s: %w", ErrInvalidID, what, err)
	}
	return id, nil
}

// reqEUI parses a required EUI-64.
func reqEUI(what, s string) (eui64.ID, error) {
	if s == "" {
		return eui64.ID{}, fmt.Errorf("%w: %s is required", ErrInvalidID, what)
	}
	return optEUI(what, s)
}

func parseRole(s string) (role.UserRole, error) {
	r, err := role.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidRole, err)
	}
	return r, nil
}

// parseReasonJSON accepts "keyCompromise", "1" or 1; absent is unspecified.
func parseReasonJSON(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return ParseReason(strconv.Itoa(n))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%w: reason must be a name or a number", ErrBadReason)
	}
	return ParseReason(s)
}
