package records

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/raerr"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// Record kinds of the store's generic record space that the RA owns.
// Values are the JSON of the types below; only ra and its publisher read them.
const (
	KindEvent       = "solr-event"   // ID: event ID
	KindSchedule    = "schedule"     // pending jobs; ID: due time (sortable) + "/" + job ID
	KindScheduleLog = "schedule-log" // finished jobs (done or cancelled); ID: job ID
	KindADT         = "adt"          // ID: SC user + "/" + supplier user
	KindDevice      = "device"       // ID: device EUI-64
	KindAllowList   = "allow-list"   // ID: User Role code
)

// PartyFailed is the status of a party whose SoLR event was approved:
// the Authority revoked its licence. A failed party gets no new
// certificates (it is not active).
const PartyFailed = "failed"

// SoLREvent is a SoLR event as the RA records it and the API shows it.
// State is one of bundle.EventDeclared ("declared": awaiting the second
// person), EventApproved ("approved": approved, the failed Supplier's
// revocation still scheduled), EventActive ("active": approved and the
// failed Supplier revoked) or EventClosed.
type SoLREvent struct {
	ID          string     `json:"id"`
	FailedParty eui64.ID   `json:"failed_party"`
	SRPUser     eui64.ID   `json:"srp_user"`
	SRPParty    eui64.ID   `json:"srp_party"`
	Instruction string     `json:"instruction"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end,omitempty"`
	// RevokeAt is when the failed Supplier's certificates are revoked; nil
	// until approval when the declaration said "now" (then it is the
	// approval time, or the start if that is later).
	RevokeAt   *time.Time       `json:"revoke_at,omitempty"`
	State      bundle.SoLRState `json:"state"`
	DeclaredBy string           `json:"declared_by"`
	DeclaredAt time.Time        `json:"declared_at"`
	ApprovedBy string           `json:"approved_by,omitempty"`
	ApprovedAt *time.Time       `json:"approved_at,omitempty"`
	RevokedAt  *time.Time       `json:"revoked_at,omitempty"` // when the revocation step ran
	// RevokedSummary is what the revocation step revoked (SetRevoked);
	// GET /v1/certificates?party_id=&status=revoked lists every one.
	RevokedSummary
	JobID string `json:"job_id,omitempty"` // the scheduled revocation, if any
	// PartyStatusBefore is the failed party's status when the approval
	// made it "failed" (active or suspended; empty if it was failed
	// already): a close that cancels the revocation gives it back.
	PartyStatusBefore string     `json:"party_status_before,omitempty"`
	ClosedBy          string     `json:"closed_by,omitempty"`
	ClosedAt          *time.Time `json:"closed_at,omitempty"`
	CloseReason       string     `json:"close_reason,omitempty"`
}

// RevokedSummary is the bounded account of a bulk revocation, the one
// format of a SoLR event's revocation step and of a bulk POST /v1/revoke
// (issue 20: the whole list was 3.5 MB at 100,000): Revoked is a sample,
// the first RevokedSample serials in the order given (all of them when
// there are no more); RevokedCount counts them all and RevokedSHA256 is
// their SerialsDigest, the same digest as the revocation's audit record.
type RevokedSummary struct {
	Revoked       []string `json:"revoked,omitempty"`
	RevokedCount  int      `json:"revoked_count,omitempty"`
	RevokedSHA256 string   `json:"revoked_sha256,omitempty"`
}

// SummariseRevoked is the RevokedSummary of serials.
func SummariseRevoked(serials []string) RevokedSummary {
	return RevokedSummary{Revoked: slices.Clone(serials[:min(len(serials), RevokedSample)]),
		RevokedCount: len(serials), RevokedSHA256: SerialsDigest(serials)}
}

// Job is a scheduled piece of RA work. Kind is JobRevokeFailed.
type Job struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	EventID   string    `json:"event_id"`
	DueAt     time.Time `json:"due_at"`
	CreatedAt time.Time `json:"created_at"`
	State     string    `json:"state"` // pending, done, cancelled
	DoneAt    time.Time `json:"done_at,omitzero"`
	Result    string    `json:"result,omitempty"`
}

// RevokedSample is how many serials a RevokedSummary's Revoked lists.
const RevokedSample = 100

// SetRevoked records on e the serials its revocation step revoked: the
// count, the digest and a sample (SummariseRevoked).
func (e *SoLREvent) SetRevoked(serials []string) { e.RevokedSummary = SummariseRevoked(serials) }

const (
	JobRevokeFailed = "revoke-failed-supplier"
	JobPending      = "pending"
	JobDone         = "done"
	JobCancelled    = "cancelled"
)

// ScheduleKey orders pending jobs by due time in the store's ID byte order.
func ScheduleKey(j Job) string {
	return j.DueAt.UTC().Format("20060102T150405.000000000Z") + "/" + j.ID
}

// ADTRecord is an accepted ADT file: its parsed content, the exact bytes
// and signature, and who submitted it with which access certificate (so
// the signature can be checked again later from the store alone).
type ADTRecord struct {
	SCUser       eui64.ID            `json:"sc_user"`
	SupplierUser eui64.ID            `json:"supplier_user"`
	Thresholds   []adtfile.Threshold `json:"thresholds"`
	SubmittedBy  string              `json:"submitted_by"`
	SubmittedAt  time.Time           `json:"submitted_at"`
	SHA256       string              `json:"sha256"`
	File         []byte              `json:"file,omitempty"`
	Signature    []byte              `json:"signature,omitempty"`
	SignerCert   []byte              `json:"signer_cert,omitempty"` // DER of the officer's access certificate
	// Withdrawn, when set, took the file out of force (docs/adt.md,
	// "Withdrawing a file"): the bundle leaves it out; the record stays.
	Withdrawn *ADTWithdrawal `json:"withdrawn,omitempty"`
}

// ADTWithdrawal says who withdrew an ADT file, when and why.
type ADTWithdrawal struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

func ADTKey(sc, supplier eui64.ID) string { return sc.String() + "/" + supplier.String() }

// Device is one entry of the device registry.
type Device struct {
	Device       eui64.ID  `json:"device"`
	SupplierUser eui64.ID  `json:"supplier_user"`
	SMETS        int       `json:"smets"`
	ImportedBy   string    `json:"imported_by"`
	ImportedAt   time.Time `json:"imported_at"`
	// Registrations are the device's other registrants (export supplier,
	// supplier agent, network operator), each from its effective time.
	Registrations []bundle.Registration `json:"registrations,omitempty"`
	// Until is when the device leaves the registry (a removals file with
	// a future effective_to); zero while it stays.
	Until time.Time `json:"until,omitzero"`
}

// AllowList is a stored allow-list override of one User Role.
type AllowList struct {
	Role  role.UserRole `json:"role"`
	SRVs  []string      `json:"srvs"`
	SetBy string        `json:"set_by"`
	SetAt time.Time     `json:"set_at"`
}

// Get reads record (kind, id) into v. A missing record is
// store.ErrNotFound (wrapped).
func Get(tx store.Tx, kind, id string, v any) error {
	b, err := tx.GetRecord(kind, id)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: record %s/%s: %v", raerr.ErrInternal, kind, id, err)
	}
	return nil
}

func Put(tx store.Tx, kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: record %s/%s: %v", raerr.ErrInternal, kind, id, err)
	}
	if err := tx.PutRecord(kind, id, b); err != nil {
		return fmt.Errorf("%w: record %s/%s: %w", raerr.ErrInternal, kind, id, err)
	}
	return nil
}

// List decodes every record of kind, in ID order, through fn.
func List[T any](tx store.Tx, kind string) ([]T, error) {
	recs, err := tx.ListRecords(kind, "", 0)
	if err != nil {
		return nil, fmt.Errorf("%w: list %s: %w", raerr.ErrInternal, kind, err)
	}
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, fmt.Errorf("%w: record %s/%s: %v", raerr.ErrInternal, kind, r.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// LoadEvent reads one event, mapping a missing one to raerr.ErrNotFound.
func LoadEvent(tx store.Tx, id string) (SoLREvent, error) {
	var e SoLREvent
	if !store.ValidRecordKey(id) {
		return e, fmt.Errorf("%w: SoLR event %q", raerr.ErrNotFound, id)
	}
	err := Get(tx, KindEvent, id, &e)
	if errors.Is(err, store.ErrNotFound) {
		return e, fmt.Errorf("%w: SoLR event %q", raerr.ErrNotFound, id)
	}
	return e, err
}

// NewID returns a fresh, sortable record ID: prefix-<UTC date>-<random>.
func NewID(prefix string, now time.Time) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("%w: %v", raerr.ErrInternal, err)
	}
	return prefix + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}
