package bundle

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
)

// Version is the version of the bundle payload this package reads and
// writes. A payload with another version is refused (ErrBundleInvalid).
const Version = 1

// Statuses of users and parties in a bundle. Only StatusActive users may
// send Service Requests.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusFailed    = "failed"
	StatusClosed    = "closed"
)

// SoLRState is the state of a SoLR event (docs/api.md, "SoLR events"), the one
// type for it on both sides: the RA records and changes it, the bundle
// carries it, the verifier reads it. Only EventApproved and EventActive
// events authorise anything.
type SoLRState string

// SoLR event states.
const (
	EventDeclared SoLRState = "declared" // awaiting the second person's approval
	EventApproved SoLRState = "approved" // approved; the failed Supplier's revocation still scheduled
	EventActive   SoLRState = "active"   // approved and the failed Supplier revoked
	EventClosed   SoLRState = "closed"   // ended; authorises nothing
)

// Valid reports whether s is one of the four states.
func (s SoLRState) Valid() bool {
	switch s {
	case EventDeclared, EventApproved, EventActive, EventClosed:
		return true
	}
	return false
}

// Authorises reports whether an event in state s authorises anything
// (within its time window): approved or active.
func (s SoLRState) Authorises() bool { return s == EventApproved || s == EventActive }

// Bundle is the signed policy the RA exports to verifiers: who the users
// are, what each role may send, the SoLR events and ADT scopes, the device
// registry, the certificate repository and the revocations known when it
// was issued. docs/bundle.md describes every field. A Bundle is immutable
// once handed to a Verifier.
type Bundle struct {
	Version       int                        `json:"version"`
	IssuedAt      time.Time                  `json:"issued_at"`
	MaxAge        Duration                   `json:"max_age"`
	RevocationSeq uint64                     `json:"revocation_seq"`
	Users         []User                     `json:"users"`
	Parties       []Party                    `json:"parties"`
	AllowLists    map[role.UserRole][]string `json:"allow_lists"`
	SoLREvents    []SoLREvent                `json:"solr_events"`
	ADT           []ADTScope                 `json:"adt"`
	Devices       []Device                   `json:"devices"`
	Certificates  [][]byte                   `json:"certificates"`
	Revoked       []RevokedCert              `json:"revoked"`
	// PartySeq is the RA's party-status sequence the parties' statuses are
	// current to (0 from an RA that does not count them). A feed page with
	// a higher party_seq supersedes them.
	PartySeq uint64 `json:"party_seq,omitempty"`
	// RegistryNotAuthoritative lists the roles for which a device missing
	// from devices is not refused E4 (the registry is incomplete for
	// them). Absent: the registry is authoritative for every role.
	RegistryNotAuthoritative []role.UserRole `json:"registry_not_authoritative,omitempty"`
	// AuditHead is optional: the RA's audit chain head when it built the
	// bundle, evidence for `smki audit verify --checkpoint`. The verifier
	// itself does not use it; it is declared so the strict decoder accepts it.
	AuditHead *AuditHead `json:"audit_head,omitempty"`
	// RevokedParties are the party-wide revocations known at IssuedAt
	// (PartyRevocation); optional.
	RevokedParties []PartyRevocation `json:"revoked_parties,omitempty"`
	// Signer is the envelope's signer certificate, set by Open (never
	// encoded): the Verifier refuses a bundle whose signer is revoked.
	Signer *x509.Certificate `json:"-"`
}

// AuditHead names the last audit entry the RA had committed when it built
// a bundle: its sequence number and its chain hash (lower-case hex of
// store.AuditEntry.Hash). Because the bundle is signed and kept by others,
// it anchors the audit chain outside the RA's database (docs/bundle.md).
type AuditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// User is a User ID bound to one party and one User Role.
type User struct {
	UserID  eui64.ID      `json:"user_id"`
	PartyID eui64.ID      `json:"party_id"`
	Role    role.UserRole `json:"role"`
	Status  string        `json:"status"`
	Name    string        `json:"name"`
}

// Party is an SEC party (a Supplier, an SRP, ...).
type Party struct {
	ID     eui64.ID `json:"id"`
	Name   string   `json:"name"`
	Status string   `json:"status"`
}

// SoLREvent is an Authority-instructed Supplier of Last Resort event. It
// authorises SRPUser (an SC user) for the devices of FailedParty's
// supplier users from Start until End (open-ended when End is nil) once a
// second person has approved it.
type SoLREvent struct {
	ID                  string     `json:"id"`
	FailedParty         eui64.ID   `json:"failed_party"`
	FailedSupplierUsers []eui64.ID `json:"failed_supplier_users"`
	SRPUser             eui64.ID   `json:"srp_user"`
	Instruction         string     `json:"instruction"`
	Start               time.Time  `json:"start"`
	End                 *time.Time `json:"end,omitempty"`
	State               SoLRState  `json:"state"`
	ApprovedBy          string     `json:"approved_by"`
	RevokeAt            time.Time  `json:"revoke_at"`
}

// ActiveAt reports whether e authorises anything at t: approved or active,
// and Start <= t < End.
func (e *SoLREvent) ActiveAt(t time.Time) bool {
	if !e.State.Authorises() {
		return false
	}
	if t.Before(e.Start) {
		return false
	}
	return e.End == nil || t.Before(*e.End)
}

// NamesSupplier reports whether e names supplier among its failed
// supplier users. (A verifier also counts any user of FailedParty.)
func (e *SoLREvent) NamesSupplier(supplier eui64.ID) bool {
	for _, u := range e.FailedSupplierUsers {
		if u == supplier {
			return true
		}
	}
	return false
}

// ADTScope is the Anomaly Detection Thresholds file of one SC user for one
// supplier user's devices, with thresholds per Service Reference Variant.
type ADTScope struct {
	SCUser       eui64.ID                `json:"sc_user"`
	SupplierUser eui64.ID                `json:"supplier_user"`
	SRVs         map[string]ADTThreshold `json:"srvs"`
}

// ADTThreshold counts accepted requests in a sliding window of Period.
// Warning flags the decision once that many are accepted in the window;
// Quarantine is the most that may be accepted in the window: the next one
// is rejected AD1 and the pair stays quarantined for one Period.
type ADTThreshold struct {
	Period     Duration `json:"period"`
	Warning    int      `json:"warning"`
	Quarantine int      `json:"quarantine"`
}

// The bounds of an ADTThreshold. A verifier keeps the time of every
// request it accepted for one Period, up to Quarantine of them, per SC
// user and SRV (and in its state file): a month and ten million bound
// that memory (80 MB a pair at most) whatever an ADT file asks.
const (
	MaxADTPeriod     = 31 * 24 * time.Hour
	MaxADTQuarantine = 10_000_000
)

// Check says what is wrong with t, or nil: Period positive and at most
// MaxADTPeriod, 0 <= Warning <= Quarantine <= MaxADTQuarantine. The one
// owner of these rules, for an ADT file (ra/adtfile) and a bundle.
func (t ADTThreshold) Check() error {
	switch {
	case t.Period <= 0:
		return errors.New("period must be positive")
	case time.Duration(t.Period) > MaxADTPeriod:
		return fmt.Errorf("period %s is over the most a verifier counts, %s", time.Duration(t.Period), MaxADTPeriod)
	case t.Warning < 0 || t.Quarantine < 0:
		return errors.New("thresholds must not be negative")
	case t.Quarantine > MaxADTQuarantine:
		return fmt.Errorf("quarantine %d is over the most a verifier counts, %d", t.Quarantine, MaxADTQuarantine)
	case t.Warning > t.Quarantine:
		return fmt.Errorf("warning %d is above quarantine %d", t.Warning, t.Quarantine)
	}
	return nil
}

// Device is one entry of the device registry. SupplierUser is the
// Supplier whose keys the device holds (its GBCS commands, SoLR scope);
// it also counts as registered, from the start, in the capacity of its
// own User Role (import, export or gas supplier). Registrations add the
// other registrants (export supplier, supplier agent, network operator)
// and changes taking effect at a given time, a change of supplier among
// them (SupplierUser is then the new supplier, SupplierAt says who is in
// force). Until, when set, is when the device leaves the registry: from
// then on no one is registered for it.
type Device struct {
	Device        eui64.ID       `json:"device"`
	SupplierUser  eui64.ID       `json:"supplier_user"`
	SMETS         int            `json:"smets"`
	Registrations []Registration `json:"registrations,omitempty"`
	Until         time.Time      `json:"until,omitzero"`
}

// RemovedAt reports whether d has left the registry at t (Until set and
// not after t).
func (d *Device) RemovedAt(t time.Time) bool { return !d.Until.IsZero() && !t.Before(d.Until) }

// Registration says that User is registered for a device in Capacity
// from From (zero: since before any request) until a later registration
// in the same capacity takes effect. A zero User ends the registration
// in Capacity at From: nobody is registered in it from then on.
type Registration struct {
	Capacity policy.Capacity `json:"capacity"`
	User     eui64.ID        `json:"user"`
	From     time.Time       `json:"from,omitzero"`
}

// MaxRegistrations caps the registrations of one device.
const MaxRegistrations = 16

// Registrant returns who is registered for d in capacity c at t: the
// registration in c with the latest From not after t; without one, d's
// SupplierUser when supplierCap (the capacity of the SupplierUser's own
// role) is c. ok is false when nobody is: no such registration and no
// fallback, a registration of nobody (zero User) ending the capacity, or
// d removed from the registry at t.
func (d *Device) Registrant(c policy.Capacity, at time.Time, supplierCap policy.Capacity) (eui64.ID, bool) {
	if d.RemovedAt(at) {
		return eui64.ID{}, false
	}
	var who eui64.ID
	var from time.Time
	found := false
	for i := range d.Registrations {
		r := &d.Registrations[i]
		if r.Capacity != c || r.From.After(at) {
			continue
		}
		if !found || r.From.After(from) {
			who, from, found = r.User, r.From, true
		}
	}
	if found {
		return who, !who.IsZero()
	}
	if supplierCap == c && !d.SupplierUser.IsZero() {
		return d.SupplierUser, true
	}
	return eui64.ID{}, false
}

// SupplierAt is the supplier user in force for d at t: the registrant in
// the capacity of SupplierUser's role (supplierCap), which differs from
// SupplierUser before a change of supplier with a future effective time
// takes effect. ok is false when nobody is (removed, or ended).
func (d *Device) SupplierAt(at time.Time, supplierCap policy.Capacity) (eui64.ID, bool) {
	return d.Registrant(supplierCap, at, supplierCap)
}

// RevokedCert names a revoked certificate by issuer DN (any RFC 4514 form;
// compared order- and case-insensitively) and serial (hex).
type RevokedCert struct {
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	RevokedAt time.Time `json:"revoked_at"`
	Reason    int       `json:"reason"`
}

// SerialNumber parses r.Serial as hex (an optional 0x prefix and ':'
// separators are accepted).
func (r *RevokedCert) SerialNumber() (*big.Int, error) {
	s := strings.TrimPrefix(strings.ReplaceAll(strings.ToLower(r.Serial), ":", ""), "0x")
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() < 0 {
		return nil, fmt.Errorf("serial %q is not hex", r.Serial)
	}
	return n, nil
}

// Duration is a time.Duration written in JSON as Go's duration string
// ("24h", "90m").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"24h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Validate checks the invariants a verifier relies on: version, times, known
// roles and states, no duplicate users or devices, references that resolve,
// parsable serials and certificates. It does not check signatures.
func (b *Bundle) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBundleInvalid, fmt.Sprintf(format, a...))
	}
	if b.Version != Version {
		return bad("version %d, want %d", b.Version, Version)
	}
	if b.IssuedAt.IsZero() {
		return bad("issued_at missing")
	}
	if b.MaxAge <= 0 {
		return bad("max_age must be positive")
	}
	users := make(map[eui64.ID]bool, len(b.Users))
	for i, u := range b.Users {
		if u.UserID.IsZero() {
			return bad("users[%d]: zero user_id", i)
		}
		if users[u.UserID] {
			return bad("users[%d]: user %s twice", i, u.UserID)
		}
		users[u.UserID] = true
		if !u.Role.Valid() {
			return bad("users[%d]: unknown role %q", i, u.Role)
		}
		if u.Status == "" {
			return bad("users[%d]: status missing", i)
		}
	}
	for r, srvs := range b.AllowLists {
		if !r.Valid() {
			return bad("allow_lists: unknown role %q", r)
		}
		for _, s := range srvs {
			if !policy.ValidSRV(s) {
				return bad("allow_lists[%s]: bad SRV %q", r, s)
			}
		}
	}
	for i, e := range b.SoLREvents {
		if !e.State.Valid() {
			return bad("solr_events[%d]: unknown state %q", i, e.State)
		}
		if e.ID == "" || e.SRPUser.IsZero() || e.FailedParty.IsZero() || e.Start.IsZero() {
			return bad("solr_events[%d]: id, srp_user, failed_party and start are required", i)
		}
		if e.End != nil && !e.End.After(e.Start) {
			return bad("solr_events[%d]: end is not after start", i)
		}
	}
	for i, a := range b.ADT {
		if a.SCUser.IsZero() || a.SupplierUser.IsZero() {
			return bad("adt[%d]: sc_user and supplier_user are required", i)
		}
		for srv, th := range a.SRVs {
			if !policy.ValidSRV(srv) {
				return bad("adt[%d]: bad SRV %q", i, srv)
			}
			if err := th.Check(); err != nil {
				return bad("adt[%d][%s]: %v", i, srv, err)
			}
		}
	}
	if err := validateDevices(b.Devices, bad); err != nil {
		return err
	}
	for i, r := range b.RegistryNotAuthoritative {
		if !r.Valid() {
			return bad("registry_not_authoritative[%d]: unknown role %q", i, r)
		}
	}
	if err := validateParties(b.Parties, bad); err != nil {
		return err
	}
	if err := validatePartyRevocations(b.RevokedParties, bad); err != nil {
		return err
	}
	for i, der := range b.Certificates {
		if _, err := dccx509.ParseCertificate(der); err != nil {
			return bad("certificates[%d]: %v", i, err)
		}
	}
	return validateRevoked(b.Revoked, bad)
}

// ValidateDevices is Validate's check of a bundle's devices section
// alone, for a builder that reuses a section it has checked once.
func ValidateDevices(devices []Device) error {
	return validateDevices(devices, func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBundleInvalid, fmt.Sprintf(format, a...))
	})
}

func validateDevices(devices []Device, bad func(string, ...any) error) error {
	seen := make(map[eui64.ID]bool, len(devices))
	for i, d := range devices {
		if seen[d.Device] {
			return bad("devices[%d]: device %s twice", i, d.Device)
		}
		seen[d.Device] = true
		if d.SMETS != 1 && d.SMETS != 2 {
			return bad("devices[%d]: smets %d, want 1 or 2", i, d.SMETS)
		}
		if len(d.Registrations) > MaxRegistrations {
			return bad("devices[%d]: %d registrations, at most %d", i, len(d.Registrations), MaxRegistrations)
		}
		for j, r := range d.Registrations {
			if !r.Capacity.Valid() || (r.User.IsZero() && r.From.IsZero()) {
				return bad("devices[%d].registrations[%d]: a capacity of %v and a non-zero user (or, to end a registration, a from time) are required", i, j, policy.Capacities())
			}
		}
	}
	return nil
}

// ValidateRevoked is Validate's check of a bundle's revoked section
// alone, for a builder that reuses a section it has checked once.
func ValidateRevoked(revoked []RevokedCert) error {
	return validateRevoked(revoked, func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBundleInvalid, fmt.Sprintf(format, a...))
	})
}

func validateRevoked(revoked []RevokedCert, bad func(string, ...any) error) error {
	for i := range revoked {
		if _, err := revoked[i].SerialNumber(); err != nil || revoked[i].Issuer == "" {
			return bad("revoked[%d]: issuer and hex serial are required", i)
		}
	}
	return nil
}

// validateParties: no party twice, every status one of the four.
func validateParties(ps []Party, bad func(string, ...any) error) error {
	seen := make(map[eui64.ID]bool, len(ps))
	for i, p := range ps {
		if seen[p.ID] {
			return bad("parties[%d]: party %s twice", i, p.ID)
		}
		seen[p.ID] = true
		if !ValidPartyStatus(p.Status) {
			return bad("parties[%d]: status %q, want active, suspended, failed or closed", i, p.Status)
		}
	}
	return nil
}

// ValidPartyStatus reports whether s is a party status a bundle or feed
// may carry.
func ValidPartyStatus(s string) bool {
	switch s {
	case StatusActive, StatusSuspended, StatusFailed, StatusClosed:
		return true
	}
	return false
}
