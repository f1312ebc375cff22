package verifier

import (
	"time"

	"github.com/smki/smki/eui64"
)

// Ticket names a staged Journal write; Wait(t) returns once it is durable.
// Tickets increase with staging order; zero is no ticket.
type Ticket uint64

// ADTRecord is one accepted SC request as anomaly detection counts it.
// Period is the threshold period in force, so that a store can drop what
// no window can still count.
type ADTRecord struct {
	User   eui64.ID
	SRV    string
	At     time.Time
	Period time.Duration
}

// ADTState is one (SC user, SRV) sliding window as a Journal holds it:
// the accepted request times (any order) and the end of a quarantine.
type ADTState struct {
	User             eui64.ID
	SRV              string
	Accepted         []time.Time
	QuarantinedUntil time.Time
}

// Journal is an optional capability of a ReplayStore, found by type
// assertion in New. A Journal also persists the ADT windows, and it splits
// recording from durability: the Verifier stages an accept under its
// decision lock (so the next request sees it at once) and waits for the
// disk after releasing the lock, which is what lets concurrent accepts
// share one fsync. The Verifier answers accept only after Wait returns nil.
type Journal interface {
	ReplayStore
	// Stage records counter as the last accepted for originator and, if
	// adt is not nil, one ADT count; Last sees the counter at once.
	Stage(originator eui64.ID, counter uint64, adt *ADTRecord) (Ticket, error)
	// StageQuarantine records that (user, srv) is quarantined until until.
	StageQuarantine(user eui64.ID, srv string, until time.Time) (Ticket, error)
	// Wait blocks until t is durable. An error means it may not be, and
	// the caller must fail closed.
	Wait(t Ticket) error
	// ADTState returns the windows recorded so far (for a Verifier
	// starting on a reopened store).
	ADTState() []ADTState
}
