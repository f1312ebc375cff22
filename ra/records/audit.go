package records

import (
	"math"

	"github.com/smki/smki/store"
)

// LastAuditEntry returns the entry with the highest Seq, or false if the
// log is empty. The Tx interface has no "last entry" query, so it gallops
// then bisects on "is any entry stored at or after n" (true for n up to the
// highest Seq whatever gaps there are): about 2*log2(entries) one-entry
// lookups, each an index seek, instead of reading the log.
func LastAuditEntry(tx store.Tx) (store.AuditEntry, bool, error) {
	probe := func(n uint64) (store.AuditEntry, bool, error) {
		es, err := tx.AuditEntries(n, 1)
		if err != nil || len(es) == 0 {
			return store.AuditEntry{}, false, err
		}
		return es[0], true, nil
	}
	best, ok, err := probe(1)
	if err != nil || !ok {
		return store.AuditEntry{}, false, err
	}
	// Invariant: best is stored with Seq lo; nothing is stored at or
	// after hi.
	lo, hi := best.Seq, uint64(math.MaxInt64)
	for step := uint64(1); lo < hi-1; step *= 2 {
		n := lo + step
		if step >= hi-lo {
			n = hi
		}
		e, ok, err := probe(n)
		if err != nil {
			return store.AuditEntry{}, false, err
		}
		if !ok {
			hi = n
			break
		}
		best, lo = e, e.Seq
	}
	for lo < hi-1 {
		mid := lo + (hi-lo)/2
		e, ok, err := probe(mid)
		if err != nil {
			return store.AuditEntry{}, false, err
		}
		if ok {
			best, lo = e, e.Seq
		} else {
			hi = mid
		}
	}
	return best, true, nil
}
