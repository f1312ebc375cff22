package verifier

import (
	"math"
	"slices"
	"time"

	"github.com/smki/smki/eui64"
)

// adtKey is what anomaly detection counts: one SC user, one Service
// Reference Variant.
type adtKey struct {
	user eui64.ID
	srv  string
}

// adtWindow is the sliding window of accepted requests of one adtKey, as
// wall-clock times (adtNanos), kept sorted (request times come from the
// caller, so an insert is usually, not always, an append). Plain integers,
// not time.Time: the window of a busy SC user holds thousands of entries,
// and a slice without pointers is not scanned by the garbage collector nor
// cleared when it grows.
type adtWindow struct {
	accepted         []int64
	quarantinedUntil time.Time
}

// adtNanos is t as Unix nanoseconds, saturated outside the years 1678-2262
// that int64 nanoseconds cover, so the order of any two times is kept
// (times beyond those years all compare equal, which only widens the
// window).
func adtNanos(t time.Time) int64 {
	const maxSec = math.MaxInt64 / int64(time.Second)
	switch s := t.Unix(); {
	case s >= maxSec:
		return math.MaxInt64
	case s <= -maxSec:
		return math.MinInt64
	}
	return t.UnixNano()
}

// count returns how many accepted times fall in the window of a request
// at at: those after at-period (those after at are counted too: they were
// accepted). It drops only the times no request can count again unless
// the clock steps back by more than clockSkew from at: those at or before
// at-period-clockSkew. A wall clock that steps forward and back (an NTP
// correction) so loses no count that the window still holds once it is
// back; dropping at at-period would let a burst over the quarantine
// threshold through.
func (w *adtWindow) count(at time.Time, period time.Duration) int {
	// Reslicing (not copying) keeps this O(log n); append reallocates and
	// so drops the pruned prefix in time.
	w.accepted = w.accepted[adtAfter(w.accepted, at.Add(-period-clockSkew)):]
	return len(w.accepted) - adtAfter(w.accepted, at.Add(-period))
}

// adtAfter is the index of the first of the sorted times after t.
func adtAfter(times []int64, t time.Time) int {
	from := adtNanos(t)
	i, _ := slices.BinarySearch(times, from)
	for i < len(times) && times[i] == from {
		i++
	}
	return i
}

// record adds an accepted request at at.
func (w *adtWindow) record(at time.Time) {
	n := adtNanos(at)
	i := len(w.accepted)
	for i > 0 && w.accepted[i-1] > n {
		i--
	}
	w.accepted = slices.Insert(w.accepted, i, n)
}
