package records

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"

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

// AuditSerialsInline is the most serials a revocation's audit detail
// lists one by one; above it the detail carries only the count and the
// digest (SerialsDetail).
const AuditSerialsInline = 32

// SerialsDetail is the part of a revocation's audit detail that names
// what it revoked, bounded whatever the count (issue 20: 100,000 serials
// made a 3.4 MB record): "count=N serials_sha256=H", H the SHA-256 (hex)
// of the serials sorted and joined by "\n", then ", serials=a,b,..." in the
// given order when N <= AuditSerialsInline. The full list is recoverable
// from the revocation records committed in the same transaction (same
// reason and time); SerialsDigest recomputes H from it.
func SerialsDetail(serials []string) string {
	d := "count=" + strconv.Itoa(len(serials)) + " serials_sha256=" + SerialsDigest(serials)
	if len(serials) <= AuditSerialsInline {
		d += " serials=" + strings.Join(serials, ",")
	}
	return d
}

// SerialsDigest is the SHA-256 (hex) of serials sorted and joined by
// "\n" (the order they are given in does not matter).
func SerialsDigest(serials []string) string {
	sorted := slices.Sorted(slices.Values(serials))
	h := sha256.New()
	for i, s := range sorted {
		if i > 0 {
			h.Write([]byte{'\n'})
		}
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}
