package verifier

import (
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

// adtWindow is the sliding window of accepted requests of one adtKey,
// kept sorted by time (request times come from the caller, so an insert
// is usually, not always, an append).
type adtWindow struct {
	accepted         []time.Time
	quarantinedUntil time.Time
}

// count drops times at or before at-period and returns how many remain in
// the window (those after at are counted too: they were accepted).
func (w *adtWindow) count(at time.Time, period time.Duration) int {
	from := at.Add(-period)
	i, _ := slices.BinarySearchFunc(w.accepted, from, func(t, target time.Time) int {
		if t.After(target) {
			return 1
		}
		return -1
	})
	// Reslicing (not copying) keeps this O(log n); append reallocates and
	// so drops the pruned prefix in time.
	w.accepted = w.accepted[i:]
	return len(w.accepted)
}

// record adds an accepted request at at.
func (w *adtWindow) record(at time.Time) {
	i := len(w.accepted)
	for i > 0 && w.accepted[i-1].After(at) {
		i--
	}
	w.accepted = slices.Insert(w.accepted, i, at)
}

// resumeADT installs windows recorded by a Journal, so that a restarted
// Verifier keeps counting and stays quarantined.
func (v *Verifier) resumeADT(states []ADTState) {
	for _, st := range states {
		w := &adtWindow{accepted: slices.Clone(st.Accepted), quarantinedUntil: st.QuarantinedUntil}
		slices.SortFunc(w.accepted, time.Time.Compare)
		v.adt[adtKey{user: st.User, srv: st.SRV}] = w
	}
}
