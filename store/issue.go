package store

import (
	"errors"
	"fmt"
)

// Issuance's two writes as batch operations. An issuance writes its
// intent before signing and its certificate after; under load many
// issuances write at once, and store.Grouper shares one transaction among
// them. CreateIntents and RecordIssued are those writes for a whole group:
// an engine that implements IssueWriter on its read-write Tx does each in
// one statement (PostgreSQL: one round trip and one plan for the group,
// instead of two or three round trips per issuance); on any other engine
// they call the Tx methods for each item in turn. Either way each item's
// outcome is its own: an item that is refused writes nothing and the
// others go on in the same transaction.

// ErrIntentSettled: the certificate's intent is no longer open (a
// reconciler marked it failed, or it was already completed), so the
// certificate must not be recorded after the fact.
var ErrIntentSettled = errors.New("E_STORE_INTENT_SETTLED")

// NewIntent is one item of CreateIntents.
type NewIntent struct {
	Intent Intent
	// KeyHash, if set, refuses the intent (KeyInUseError) when a
	// certificate for this key hash is held by a user other than
	// Intent.UserID, as a check with CertificatesByKey before
	// CreateIntent would.
	KeyHash string
}

// KeyInUseError refuses a NewIntent whose key is certified for another
// user: UserID and Serial name that user's certificate (the lowest such
// serial). It wraps ErrDuplicateKey.
type KeyInUseError struct {
	KeyHash, UserID, Serial string
}

func (e *KeyInUseError) Error() string {
	return fmt.Sprintf("key %s is certified for user %s (serial %s): %v", e.KeyHash, e.UserID, e.Serial, ErrDuplicateKey)
}

func (e *KeyInUseError) Unwrap() error { return ErrDuplicateKey }

// IntentNotOpenError refuses a RecordIssued item whose intent is settled.
// It wraps ErrIntentSettled.
type IntentNotOpenError struct {
	Serial string
	State  IntentState
}

func (e *IntentNotOpenError) Error() string {
	return fmt.Sprintf("intent %s is %s: %v", e.Serial, e.State, ErrIntentSettled)
}

func (e *IntentNotOpenError) Unwrap() error { return ErrIntentSettled }

// IssueWriter is the optional capability of a read-write Tx that writes
// many issuances in one statement each; see CreateIntents and
// RecordIssued for the contract. Callers use those functions, which fall
// back to the Tx methods.
type IssueWriter interface {
	CreateIntents(ins []NewIntent) (errs []error, err error)
	RecordIssued(certs []Certificate) (errs []error, err error)
}

// IssueBatchWriter is the optional capability of a read-write Tx that
// writes a group's intents and records together (PostgreSQL: in one
// round trip); see WriteIssuance.
type IssueBatchWriter interface {
	WriteIssuance(ins []NewIntent, certs []Certificate) (insErrs, certErrs []error, err error)
}

// WriteIssuance is CreateIntents(tx, ins) and then RecordIssued(tx,
// certs), in tx, with their answers (a nil list for an empty one); an
// engine may write both at once (IssueBatchWriter). err is as for
// CreateIntents: then neither list is set.
func WriteIssuance(tx Tx, ins []NewIntent, certs []Certificate) (insErrs, certErrs []error, err error) {
	if w, ok := tx.(IssueBatchWriter); ok {
		return w.WriteIssuance(ins, certs)
	}
	return WriteIssuanceEach(tx, ins, certs)
}

// WriteIssuanceEach is WriteIssuance as its two operations, one after
// the other (for an IssueBatchWriter that cannot write them at once).
func WriteIssuanceEach(tx Tx, ins []NewIntent, certs []Certificate) (insErrs, certErrs []error, err error) {
	if len(ins) > 0 {
		if insErrs, err = CreateIntents(tx, ins); err != nil {
			return nil, nil, err
		}
	}
	if len(certs) > 0 {
		if certErrs, err = RecordIssued(tx, certs); err != nil {
			return nil, nil, err
		}
	}
	return insErrs, certErrs, nil
}

// AuditBatchWriter is the optional capability of a read-write Tx that
// appends many audit entries in one statement; see AppendAudits.
type AuditBatchWriter interface {
	AppendAudits(es []AuditEntry) error
}

// AppendAudits appends es in order in tx, as AppendAudit for each in turn
// would (the entries as appended are not returned), in one statement on
// an engine that has it (AuditBatchWriter). An invalid entry fails the
// call as it fails AppendAudit.
func AppendAudits(tx Tx, es []AuditEntry) error {
	if w, ok := tx.(AuditBatchWriter); ok {
		return w.AppendAudits(es)
	}
	for _, e := range es {
		if _, err := tx.AppendAudit(e); err != nil {
			return err
		}
	}
	return nil
}

// CreateIntents creates each item's intent, as CreateIntent does, unless
// its key is another user's (KeyInUseError) or its serial is held by an
// intent or certificate, including an earlier item (ErrDuplicateSerial).
// errs[i] is item i's refusal (nil: created); an item refused writes
// nothing. err is a failure of the transaction itself (the engine could
// not run the write): then the transaction must not commit and errs is
// nil.
func CreateIntents(tx Tx, ins []NewIntent) (errs []error, err error) {
	if w, ok := tx.(IssueWriter); ok {
		return w.CreateIntents(ins)
	}
	return eachItem(tx, ins, createIntent)
}

// eachItem is the fallback of a batch operation: one for each item.
func eachItem[T any](tx Tx, items []T, one func(Tx, T) (refused, err error)) (errs []error, err error) {
	errs = make([]error, len(items))
	for i, it := range items {
		if errs[i], err = one(tx, it); err != nil {
			return nil, err
		}
	}
	return errs, nil
}

func createIntent(tx Tx, n NewIntent) (refused, err error) {
	if n.KeyHash != "" {
		prior, err := tx.CertificatesByKey(n.KeyHash)
		if err != nil {
			return itemErr(err)
		}
		for _, pc := range prior {
			if pc.UserID != n.Intent.UserID {
				return &KeyInUseError{KeyHash: n.KeyHash, UserID: pc.UserID, Serial: pc.Serial}, nil
			}
		}
	}
	return itemErr(tx.CreateIntent(n.Intent))
}

// itemErr sorts a Tx method's error: a refusal of the item (it wrote
// nothing) or a failure of the transaction.
func itemErr(err error) (refused, failed error) {
	for _, code := range []error{ErrInvalid, ErrDuplicateSerial, ErrDuplicateKey, ErrNotFound, ErrIntentSettled} {
		if errors.Is(err, code) {
			return err, nil
		}
	}
	return nil, err
}

// RecordIssued records each signed certificate and completes its intent,
// as GetIntent (the intent must be open), PutCertificate and
// SetIntentState(completed) in one step would: errs[i] is item i's
// refusal (nil: recorded): ErrNotFound (no intent), an
// IntentNotOpenError, ErrDuplicateSerial (its serial has a certificate,
// or an earlier item has the same serial), ErrDuplicateKey (its key is
// certified for another user, or an earlier item certifies it for
// another user) or ErrInvalid. An item refused writes nothing. The
// certificates recorded get consecutive IssuanceSeq numbers in item
// order. err is as for CreateIntents.
func RecordIssued(tx Tx, certs []Certificate) (errs []error, err error) {
	if w, ok := tx.(IssueWriter); ok {
		return w.RecordIssued(certs)
	}
	return eachItem(tx, certs, recordIssued)
}

func recordIssued(tx Tx, c Certificate) (refused, err error) {
	in, err := tx.GetIntent(c.Serial)
	if err != nil {
		return itemErr(err)
	}
	if in.State != IntentOpen {
		return &IntentNotOpenError{Serial: c.Serial, State: in.State}, nil
	}
	if refused, err := itemErr(tx.PutCertificate(c)); refused != nil || err != nil {
		return refused, err
	}
	return nil, tx.SetIntentState(c.Serial, IntentCompleted)
}
