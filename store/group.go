package store

import (
	"context"
	"errors"
	"runtime"
	"slices"

	"github.com/smki/smki/store/internal/groupcommit"
)

// Grouper runs concurrent Updates in shared transactions (group commit):
// while one transaction commits, the changes that arrive queue up and
// the next transaction carries all of them, so under load one commit
// (one fsync) serves many callers, and a lone caller pays one commit and
// no timer. Each caller still returns only after the transaction holding
// its change is durable, with its own outcome: a change that fails is
// taken out, run again alone (its error is what its caller gets), and the
// rest are committed without it. A change may therefore run more than
// once, as Update allows anyway. Changes grouped together must not depend
// on each other's absence (each must be a change its caller could make in
// any order relative to the others).
type Grouper struct {
	update func(context.Context, func(Tx) error) error
	b      *groupcommit.Batcher[*grouped]
}

type grouped struct {
	fn     func(Tx) error // a change (nil for the batch operations below)
	intent *NewIntent     // CreateIntent
	record *IssuedRecord  // RecordIssued
	err    error
	abort  *abort // fn (or Check) panicked or called runtime.Goexit (t.Fatal)
}

// IssuedRecord is one RecordIssued change: a signed certificate whose
// intent is open.
type IssuedRecord struct {
	Cert Certificate
	// Audit entries are appended in the transaction that records Cert
	// (only if it is recorded).
	Audit []AuditEntry
	// Check, if set, runs in the transaction before the certificate is
	// recorded: if it returns an error the certificate is not recorded,
	// its intent is marked failed in the same transaction (if still open)
	// and RecordIssued returns a *CheckRefusal. It must only read. It
	// judges Cert as not yet recorded, and must ignore Cert's own serial
	// among the certificates it reads: on an engine that reads ahead the
	// checks run once the group's writes are sent, their reads answered
	// as of before the writes but for the group's own certificates (see
	// applyBatch). Two records of a group that share a Conflicts name are
	// never in one transaction, so what a Check reads is not changed by
	// another record of its transaction, if it names it there.
	Check func(Tx) error
	// Reads is what Check reads besides Cert's user and that user's
	// party (always read ahead for a Check): the group reads them all in
	// one go first (Prefetch).
	Reads ReadAhead
	// Conflicts names what Check reads that another record's writes
	// could change (the RA: the certificate's key, the certificate it
	// replaces). Records sharing a name are recorded in transactions one
	// after the other, in arrival order, so each one's Check sees the
	// ones before it recorded.
	Conflicts []string
	// With, if set, writes in the transaction that records Cert, after
	// it and after every Check of the group (only if Cert is recorded):
	// what belongs with the certificate (the RA: which certificate it
	// replaces). It may run more than once, as an Update's function; an
	// error fails the transaction, and the record is then tried alone.
	With func(Tx) error
}

// CheckRefusal is RecordIssued's answer when IssuedRecord.Check refused:
// the intent was marked failed, nothing else was written. Err is Check's
// error.
type CheckRefusal struct{ Err error }

func (e *CheckRefusal) Error() string { return "refused at record time: " + e.Err.Error() }

func (e *CheckRefusal) Unwrap() error { return e.Err }

// abort is how a change's function left without returning: its caller
// gets the same (the panic value again, or runtime.Goexit) in its own
// goroutine, whichever goroutine ran the transaction.
type abort struct {
	value  any
	goexit bool
}

// AloneUpdater is a Store whose Update group-commits concurrent calls
// and that can also run one transaction without grouping it: the update a
// Grouper over the Store should run (NewGrouper(s.UpdateAlone)), since
// the Grouper already groups and runs one transaction at a time.
type AloneUpdater interface {
	UpdateAlone(ctx context.Context, fn func(Tx) error) error
}

// UpdateOf is the update a Grouper over st runs: st's UpdateAlone if it
// has one (AloneUpdater), otherwise its Update.
func UpdateOf(st Store) func(context.Context, func(Tx) error) error {
	if a, ok := st.(AloneUpdater); ok {
		return a.UpdateAlone
	}
	return st.Update
}

// NewGrouper groups changes into transactions run by update (a Store's
// Update, or an engine's own single-transaction write).
func NewGrouper(update func(context.Context, func(Tx) error) error) *Grouper {
	g := &Grouper{update: update}
	g.b = groupcommit.New(g.write)
	return g
}

// Update runs fn in a transaction shared with concurrent Update calls of
// g, and returns fn's error, or the commit's, once that transaction is
// durable. As for Store.Update, fn's writes are kept only if it returns
// nil.
func (g *Grouper) Update(ctx context.Context, fn func(Tx) error) error {
	return g.add(ctx, &grouped{fn: fn})
}

// CreateIntent creates n's intent (see the function CreateIntents for
// the refusals) in a transaction shared with concurrent changes of g, and
// returns once it is durable. The intents of one transaction are written
// together (one statement on an engine with IssueWriter); a refused one
// writes nothing and does not hold up the others.
func (g *Grouper) CreateIntent(ctx context.Context, n NewIntent) error {
	return g.add(ctx, &grouped{intent: &n})
}

// RecordIssued records r's certificate, its audit entries and its
// intent's completion (see the function RecordIssued for the refusals;
// *CheckRefusal if r.Check refused) in a transaction shared with
// concurrent changes of g, and returns once it is durable. The records of
// one transaction are written together, as CreateIntent's are.
func (g *Grouper) RecordIssued(ctx context.Context, r IssuedRecord) error {
	return g.add(ctx, &grouped{record: &r})
}

func (g *Grouper) add(ctx context.Context, it *grouped) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := g.b.Add(ctx, it); err != nil {
		return err
	}
	if it.abort != nil {
		if it.abort.goexit {
			runtime.Goexit()
		}
		panic(it.abort.value)
	}
	return it.err
}

// batchFailed is attempt's failed index when a batch operation failed as
// a whole (the engine could not run its statement): which item caused it
// is unknown.
const batchFailed = -2

// write commits items in as few transactions as their outcomes allow:
// all together, but for records whose Conflicts names are taken by an
// earlier item (they go in the next transaction, see apart); if one
// fails, that one alone and the others together again; if a batch
// operation fails as a whole, each item alone; if one panics or calls
// runtime.Goexit, without it (its caller gets the same). A batch item
// refused by its operation (CreateIntent, RecordIssued) wrote nothing
// and keeps its refusal while the others commit. If a record's Check
// refused after the writes (errRecheck, see applyBatch), the same items
// again with the checks first.
func (g *Grouper) write(ctx context.Context, items []*grouped) error {
	for len(items) > 0 {
		var now []*grouped
		now, items = apart(items)
		g.writeApart(ctx, now)
	}
	return nil
}

// apart takes from items those whose Conflicts names no earlier item of
// now took (now), in order, and leaves the rest for a later transaction.
func apart(items []*grouped) (now, later []*grouped) {
	if !slices.ContainsFunc(items, func(it *grouped) bool { return it.record != nil && len(it.record.Conflicts) > 0 }) {
		return items, nil
	}
	taken := map[string]bool{}
	for _, it := range items {
		if it.record != nil && len(it.record.Conflicts) > 0 {
			if slices.ContainsFunc(it.record.Conflicts, func(c string) bool { return taken[c] }) {
				later = append(later, it)
				continue
			}
			for _, c := range it.record.Conflicts {
				taken[c] = true
			}
		}
		now = append(now, it)
	}
	return now, later
}

// writeApart is write for items that conflict with none of each other.
func (g *Grouper) writeApart(ctx context.Context, items []*grouped) {
	pending := items
	checksFirst := false
	for len(pending) > 0 {
		failed, err, ab := g.attempt(ctx, pending, checksFirst)
		switch {
		case ab == nil && errors.Is(err, errRecheck) && !checksFirst:
			checksFirst = true
			continue
		case ab != nil && ab.index < 0: // the engine itself: every caller gets it
			for _, it := range pending {
				it.abort = ab.abort
			}
			return
		case ab != nil:
			pending[ab.index].abort = ab.abort
			pending = append(pending[:ab.index:ab.index], pending[ab.index+1:]...)
			continue
		case failed == batchFailed && len(pending) > 1:
			for _, it := range pending {
				g.alone(ctx, it)
			}
			return
		case failed < 0 || len(pending) == 1:
			if err != nil {
				for _, it := range pending {
					it.err = err
				}
			}
			return
		}
		alone := pending[failed]
		pending = append(pending[:failed:failed], pending[failed+1:]...)
		g.alone(ctx, alone)
	}
}

// alone runs it in a transaction of its own (its check, if any, first).
func (g *Grouper) alone(ctx context.Context, it *grouped) {
	_, err, ab := g.attempt(ctx, []*grouped{it}, true)
	switch {
	case ab != nil:
		it.abort = ab.abort
	case err != nil:
		it.err = err
	}
}

// applyBatch writes pending's batch operations in tx: each item's Check
// (after one read ahead of what the checks read, Prefetch: each record's
// user and party and its Reads), then every intent in one CreateIntents
// and every record in one RecordIssued (together, WriteIssuance), then
// the recorded items' With writes, then their audit entries (in one
// AppendAudits). It sets each batch item's err to its own outcome, and
// returns an error only if the transaction cannot go on (the attempt
// fails as a whole). *cur is the index of the item whose Check or With
// runs (-1 otherwise).
//
// On an engine that reads ahead (Prefetcher) and unless checksFirst, the
// checks run after the writes, so that the read ahead goes in the writes'
// round trip (PostgreSQL: BEGIN, the reads, the intents' and records'
// statements in one): the checks' reads are answered from what was read
// before the writes, as if they had run first, but for the certificates
// the group itself recorded (which a Check ignores; see
// IssuedRecord.Check), and no With has written yet. If one refuses (or
// fails), applyBatch returns errRecheck and writes nothing more: the
// Grouper rolls the attempt back and runs the group again with the checks
// first, where the refusal fails that intent alone.
func applyBatch(tx Tx, pending []*grouped, cur *int, checksFirst bool) error {
	var ins []NewIntent
	var recs []Certificate
	var insAt, recAt []int
	var ahead ReadAhead // what the records' checks read
	for _, it := range pending {
		if it.record != nil && it.record.Check != nil {
			ahead = ahead.Merge(it.record.Reads)
			ahead.Users = append(ahead.Users, it.record.Cert.UserID)
		}
	}
	if err := Prefetch(tx, ahead); err != nil {
		return err
	}
	checkLater := ReadsAhead(tx) && !checksFirst && len(ahead.Users) > 0
	for i, it := range pending {
		switch {
		case it.intent != nil:
			it.err = nil
			ins, insAt = append(ins, *it.intent), append(insAt, i)
		case it.record != nil:
			it.err = nil
			if chk := it.record.Check; chk != nil && !checkLater {
				*cur = i
				cerr := chk(tx)
				*cur = -1
				if cerr != nil {
					refused, err := refuseRecord(tx, it.record.Cert.Serial, cerr)
					if err != nil {
						return err
					}
					it.err = refused
					continue
				}
			}
			recs, recAt = append(recs, it.record.Cert), append(recAt, i)
		}
	}
	if len(ins) == 0 && len(recs) == 0 {
		return nil
	}
	insErrs, recErrs, err := WriteIssuance(tx, ins, recs)
	if err != nil {
		return err
	}
	for j, e := range insErrs {
		pending[insAt[j]].err = e
	}
	var recorded []int
	for j, e := range recErrs {
		it := pending[recAt[j]]
		it.err = e
		if e != nil {
			continue
		}
		if chk := it.record.Check; chk != nil && checkLater {
			*cur = recAt[j]
			cerr := chk(tx)
			*cur = -1
			if cerr != nil {
				return errRecheck
			}
		}
		recorded = append(recorded, recAt[j])
	}
	var audits []AuditEntry
	for _, i := range recorded {
		r := pending[i].record
		if r.With != nil {
			*cur = i
			err := r.With(tx)
			*cur = -1
			if err != nil {
				return err
			}
		}
		audits = append(audits, r.Audit...)
	}
	if len(audits) > 0 {
		return AppendAudits(tx, audits)
	}
	return nil
}

// errRecheck: a record's Check refused after the group's writes were sent
// (applyBatch); the group runs again with the checks first.
var errRecheck = errors.New("store: a record's check refused after the group's writes; run again with the checks first")

// RecordIssuedTx is Grouper.RecordIssued's write of r in tx, for a
// caller that has its own transaction (and the same answers; a
// *CheckRefusal means the intent was failed in tx, which may commit).
func RecordIssuedTx(tx Tx, r IssuedRecord) error {
	it := &grouped{record: &r}
	cur := -1
	if err := applyBatch(tx, []*grouped{it}, &cur, true); err != nil {
		return err
	}
	return it.err
}

// refuseRecord marks serial's intent failed after a record's Check
// refused with cause, unless the intent is not open any more.
func refuseRecord(tx Tx, serial string, cause error) (refused, err error) {
	in, err := tx.GetIntent(serial)
	if err != nil {
		return itemErr(err)
	}
	if in.State != IntentOpen {
		return &IntentNotOpenError{Serial: serial, State: in.State}, nil
	}
	if err := tx.SetIntentState(serial, IntentFailed); err != nil {
		return nil, err
	}
	return &CheckRefusal{Err: cause}, nil
}

// attemptAbort: the transaction did not return; index is the change whose
// function was running (-1: none, the engine).
type attemptAbort struct {
	index int
	abort *abort
}

// attempt runs one transaction applying every change in order, on its own
// goroutine so that a change that panics or calls runtime.Goexit cannot
// take the caller's goroutine (the batch's leader) with it; the engine has
// rolled the transaction back by then. It returns the index of the change
// that failed (-1: none), the transaction's error, or how it aborted.
func (g *Grouper) attempt(ctx context.Context, pending []*grouped, checksFirst bool) (failed int, err error, ab *attemptAbort) {
	done := make(chan struct{})
	cur := -1
	go func() {
		returned := false
		defer func() {
			if !returned {
				r := recover()
				ab = &attemptAbort{index: cur, abort: &abort{value: r, goexit: r == nil}}
			}
			close(done)
		}()
		err = g.update(ctx, func(tx Tx) error {
			failed = -1
			if err := applyBatch(tx, pending, &cur, checksFirst); err != nil {
				failed = batchFailed
				return err
			}
			for i, it := range pending {
				if it.fn == nil {
					continue
				}
				cur = i
				if err := it.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			cur = -1
			return nil
		})
		returned = true
	}()
	<-done
	return failed, err, ab
}
