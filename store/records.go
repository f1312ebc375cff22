package store

import "time"

// IntentState is the life of an issuance intent.
type IntentState string

// Intent states. An intent is Open from before signing until the signed
// certificate is recorded (Completed) or issuance is abandoned (Failed). A
// Failed intent keeps its serial: serials are never reused.
const (
	IntentOpen      IntentState = "open"
	IntentCompleted IntentState = "completed"
	IntentFailed    IntentState = "failed"
)

// Intent records that the CA is about to sign a certificate.
type Intent struct {
	Serial    string // lower-case hex of the positive serial
	Issuer    string // issuer name, e.g. "issuing-ca"
	Profile   string
	UserID    string // canonical EUI-64, "" for CA certificates
	LintDER   []byte // the linted to-be-signed certificate (signed by a throwaway key)
	CreatedAt time.Time
	State     IntentState
}

// CertStatus is a certificate's revocation status.
type CertStatus string

// Certificate statuses.
const (
	StatusGood    CertStatus = "good"
	StatusRevoked CertStatus = "revoked"
)

// Certificate is an issued certificate and its bookkeeping.
type Certificate struct {
	Serial    string // lower-case hex
	Issuer    string // issuer name, e.g. "issuing-ca", "root"
	UserID    string // canonical EUI-64; "" for CA certificates
	PartyID   string // canonical EUI-64; "" for CA certificates
	Profile   string
	Role      string // User Role code
	KeyHash   string // hex SHA-256 of the SubjectPublicKeyInfo
	NotBefore time.Time
	NotAfter  time.Time
	IssuedAt  time.Time
	DER       []byte

	Status        CertStatus
	RevokedAt     time.Time
	Reason        int    // RFC 5280 CRLReason
	RevocationSeq uint64 // 0 unless revoked

	// IssuanceSeq is assigned by PutCertificate (callers leave it 0):
	// the certificate's place in the issuance sequence.
	IssuanceSeq uint64
}

// CertFilter selects certificates; zero fields match anything.
type CertFilter struct {
	Issuer  string
	UserID  string
	PartyID string
	Role    string // User Role code
	Status  CertStatus
	After   string // only serials greater than this (byte order): the cursor of a paged listing
	Limit   int
}

// Revocation is one entry of the revocation sequence the verifiers' feed follows.
type Revocation struct {
	Seq       uint64
	Serial    string
	Issuer    string
	UserID    string
	PartyID   string
	Reason    int
	RevokedAt time.Time
}

// CRL is the latest CRL an issuer published.
type CRL struct {
	Name       string // "orl" or "arl"
	Number     uint64
	ThisUpdate time.Time
	NextUpdate time.Time
	DER        []byte
}

// Status values shared by parties, users and officers.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRemoved   = "removed"
	// StatusWithdrawn is a user whose User Role was withdrawn from its
	// party (ra.WithdrawUser): final, never active again.
	StatusWithdrawn = "withdrawn"
)

// Party is a SEC Party.
type Party struct {
	ID        string // canonical EUI-64
	Name      string
	Status    string
	CreatedAt time.Time
}

// User is a User ID bound to one party and one User Role.
type User struct {
	ID        string // canonical EUI-64
	PartyID   string
	Role      string // User Role code
	Name      string
	Status    string
	CreatedAt time.Time
}

// Officer is a person who may act for a party (SRO, ARO) or for the RA
// (ra-operator, ra-approver, authority-liaison).
type Officer struct {
	ID         string // chosen by the RA, unique
	Name       string
	PartyID    string // "" for RA officers
	Kind       string // "sro", "aro", "ra-operator", "ra-approver", "authority-liaison"
	CertSerial string // serial of the officer's access certificate
	// CertNotAfter is when that certificate expires (zero: not recorded,
	// for officers appointed before smki kept it).
	CertNotAfter time.Time
	Status       string
	CreatedAt    time.Time
	AppointedBy  string
}

// AuditEntry is one record of the tamper-evident audit log.
type AuditEntry struct {
	Seq      uint64
	Time     time.Time
	Actor    string
	Action   string
	Subject  string
	Result   string // "allowed", "refused: <code>", "failed: <code>", "ok", ...
	Detail   string
	PrevHash []byte
	Hash     []byte
}

// Record is one value of the generic record space (see Tx.PutRecord).
type Record struct {
	Kind  string
	ID    string
	Value []byte
}

// ValidRecordKey reports whether s may be a record kind or ID.
func ValidRecordKey(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return true
}
