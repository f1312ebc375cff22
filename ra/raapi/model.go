package raapi

import (
	"time"

	"github.com/smki/smki/ca/profilename"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/ra/registry"
	"github.com/smki/smki/ra/solr"
	"github.com/smki/smki/role"
)

// The RA's requests and answers as the API and the Go client carry them
// (package ra re-exports each under the same name and checks them).

// Party is a SEC Party as the API shows it.
type Party struct {
	ID        eui64.ID  `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a User ID: an EUI-64 bound to one party and one User Role.
type User struct {
	ID        eui64.ID      `json:"id"`
	PartyID   eui64.ID      `json:"party_id"`
	Role      role.UserRole `json:"role"`
	Name      string        `json:"name"`
	Status    string        `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
}

// UserWithdrawal is POST /v1/users/{id}/withdraw's answer: the user
// (status "withdrawn" once done; unchanged in a dry run) and the
// revocation of its good certificates, a bulk revocation's summary
// (RevokeResult; DryRun when nothing was changed).
type UserWithdrawal struct {
	User       User         `json:"user"`
	Revocation RevokeResult `json:"revocation"`
}

// Officer is a person who acts for a party (sro, aro) or for the RA
// (ra-operator, ra-approver, authority-liaison). PartyID is "" for RA officers.
type Officer struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	PartyID     string    `json:"party_id,omitempty"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"`
	CertSerial  string    `json:"cert_serial"`
	AppointedBy string    `json:"appointed_by"`
	CreatedAt   time.Time `json:"created_at"`
	// CredentialExpires is when the officer's current credential expires
	// (absent for officers appointed before smki recorded it).
	CredentialExpires *time.Time `json:"credential_expires,omitempty"`
}

// OfficerRequest asks for a new officer. PartyID is required for sro and
// aro and must be zero for RA kinds. CSR, when given, is a PEM PKCS#10
// request for a P-256 key the appointee generated (smki officer keygen):
// the RA certifies that key and never sees a private key, so the officer
// who appoints cannot act as the appointee. Its subject is ignored; the RA
// names the certificate.
type OfficerRequest struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	PartyID eui64.ID `json:"party_id"`
	CSR     string   `json:"csr,omitempty"`
}

// EnrolMode says how a CSR relates to the user's existing certificates.
// All three go through the same checks (authz, eligibility, subject, key);
// they differ only in what the key must be.
type EnrolMode string

// Enrolment modes.
const (
	// ModeEnrol: a new certificate for a key never certified before.
	ModeEnrol EnrolMode = "enrol"
	// ModeRenew: a new certificate for the key of Replaces (same user,
	// same profile, not revoked, not replaced before: a certificate is
	// replaced once, by one renew or rekey).
	ModeRenew EnrolMode = "renew"
	// ModeRekey: a new certificate replacing Replaces (as for ModeRenew)
	// with a key never certified before. Replaces is not revoked
	// automatically: the officer revokes it (reason superseded) once the
	// new one is installed.
	ModeRekey EnrolMode = "rekey"
)

// EnrolRequest is a certificate request for one user.
type EnrolRequest struct {
	UserID   eui64.ID
	Profile  profilename.Profile
	CSR      []byte // PEM or DER PKCS#10
	Mode     EnrolMode
	Replaces string // serial (hex) of the certificate renewed or re-keyed
}

// Issued is an issued certificate.
type Issued struct {
	Cert    CertInfo
	CertPEM []byte
}

// RevokeRequest selects certificates to revoke: exactly one of Serial,
// UserID or PartyID.
type RevokeRequest struct {
	Serial  string
	UserID  eui64.ID
	PartyID eui64.ID
	Reason  int
	// Yes revokes a bulk selection (UserID or PartyID); without it a bulk
	// request is a dry run that lists what it would revoke.
	Yes bool
	// DryRun makes a single-serial request list instead of revoke.
	DryRun bool
}

// RevokeResult is what a revocation selected and, unless DryRun, revoked.
// A bulk request (UserID or PartyID), dry run or not, is a summary of
// bounded size whatever the selection (issue 20: 100,000 certificates and
// revocations made a 70 MB answer that took longer to encode and decode
// than the revocation itself): CertificateCount, counts ByUser and
// ByProfile, at most DryRunSample Certificates (and, once revoked, their
// Revocations) and CertificatesURL, the GET that lists every one (good for
// a dry run, revoked after). A bulk revocation also carries the
// RevokedSummary (count, SHA-256 of the sorted serials, a sample of 100:
// the SoLR event's format) and FirstSeq..LastSeq, the consecutive
// revocation sequence numbers it took. A single-serial request lists its
// certificate and revocation in full.
type RevokeResult struct {
	DryRun           bool           `json:"dry_run"`
	Reason           int            `json:"reason"`
	CertificateCount int            `json:"certificate_count"`
	ByUser           map[string]int `json:"by_user,omitempty"`
	ByProfile        map[string]int `json:"by_profile,omitempty"`
	CertificatesURL  string         `json:"certificates_url,omitempty"`
	Certificates     []CertInfo     `json:"certificates"`
	Revocations      []Revocation   `json:"revocations,omitempty"`
	records.RevokedSummary
	FirstSeq  uint64     `json:"first_seq,omitempty"`
	LastSeq   uint64     `json:"last_seq,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// ORLPending: the revocation is recorded but the ORL could not be
	// signed (the CA's HSM away); it is reissued, listing it, as soon as
	// the CA key signs again.
	ORLPending bool `json:"orl_pending,omitempty"`
}

// CertQuery selects certificates to list; zero fields match anything.
type CertQuery struct {
	UserID  eui64.ID
	PartyID eui64.ID
	Status  string // "", "good", "revoked"
	Role    string // a User Role code ("IS", ...), as the store records it
	Limit   int
	// After is a paged listing's cursor: only certificates after this
	// serial in the listing's order (the previous page's Next).
	After string
	// ExpiresBefore, when set, keeps only certificates whose notAfter is
	// before it (the console's "expiring within 30 days"). No index
	// orders certificates by expiry: the listing reads the selection a
	// page at a time and stops once it holds Limit.
	ExpiresBefore time.Time
}

// AuditReport is the result of walking the audit chain.
type AuditReport struct {
	OK       bool   `json:"ok"`
	Entries  uint64 `json:"entries"`             // entries verified before any break
	Head     string `json:"head,omitempty"`      // hex hash of the last entry
	BrokenAt uint64 `json:"broken_at,omitempty"` // first broken entry
	Error    string `json:"error,omitempty"`
}

// Revocation is one committed revocation as the API answers it (snake_case
// like every other answer; docs/api.md, openapi.yaml): its place in the
// revocation sequence, the certificate and whose it was, the reason and
// the time.
type Revocation struct {
	Seq       uint64    `json:"seq"`
	Serial    string    `json:"serial"`
	Issuer    string    `json:"issuer"`
	UserID    string    `json:"user_id"`
	PartyID   string    `json:"party_id"`
	Reason    int       `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
}

// The stored records the API shows, and the answers of SoLR and the
// registries (owned by the packages that write them).
type (
	CertInfo         = records.CertInfo
	SoLREvent        = records.SoLREvent
	SignerRevocation = records.SignerRevocation
	ADTRecord        = records.ADTRecord
	Device           = records.Device
	RoleAllowList    = records.RoleAllowList
	DeclareRequest   = solr.DeclareRequest
	EventResult      = solr.EventResult
	ImportResult     = registry.ImportResult
)
