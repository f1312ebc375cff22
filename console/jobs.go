package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
)

// A party's bulk revocation may mark many thousands of serials in one
// transaction; the console runs it as a job that outlives the confirming
// request, so the officer watches its progress on a page of its own
// (revokeJobPage) instead of a request that hangs. The job observes the
// revocation the same way the API's NDJSON stream does
// (ca.WithRevokeProgress): done of total serials marked, then the commit.

const (
	// maxJobs bounds the running jobs of all officers together: a last
	// resort, which officers reach only by the dozen, as
	// maxJobsPerOfficer bounds each one. A finished job counts for
	// neither: a revocation the RA refused at once, or one that ended,
	// holds no slot, so nobody can keep another officer from revoking by
	// confirming revocations the RA refuses.
	maxJobs = 64
	// maxJobsPerOfficer bounds one officer's running jobs, so that one
	// officer cannot take every slot.
	maxJobsPerOfficer = 4
	// maxKeptPerOfficer bounds one officer's finished jobs kept for their
	// pages; past it that officer's oldest goes (the audit log and the
	// certificates' status keep what it did). So finished jobs take at
	// most this many per officer, for at most jobKeep.
	maxKeptPerOfficer = 16
	// jobKeep is how long a finished job's page stays available.
	jobKeep = time.Hour
	// jobRefresh is the progress page's refresh interval without script.
	jobRefresh = 1
)

// Job states as the progress page and its status answer name them.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

// revokeJob is one bulk revocation running on behalf of one officer.
type revokeJob struct {
	ID      string
	Officer string
	Party   string
	Reason  string
	Started time.Time

	started chan struct{} // closed at the first progress report
	once    sync.Once
	ended   chan struct{} // closed when Revoke returned

	mu       sync.Mutex
	done     int
	total    int
	finished time.Time
	result   *ra.RevokeResult
	err      error
}

// observe is the job's ca.RevokeProgressFunc: it records, never blocks.
func (j *revokeJob) observe(done, total int) {
	j.mu.Lock()
	j.done, j.total = done, total
	j.mu.Unlock()
	j.once.Do(func() { close(j.started) })
}

// jobStatus is a job as the progress page and its script show it.
type jobStatus struct {
	ID      string           `json:"id"`
	State   string           `json:"state"`
	Done    int              `json:"done"`
	Total   int              `json:"total"`
	Text    string           `json:"text"`
	Party   string           `json:"party"`
	Reason  string           `json:"reason"`
	Started time.Time        `json:"started"`
	Result  *ra.RevokeResult `json:"-"`
	Err     error            `json:"-"`
}

func (j *revokeJob) status() jobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := jobStatus{ID: j.ID, State: jobRunning, Done: j.done, Total: j.total, Party: j.Party, Reason: j.Reason,
		Started: j.Started, Result: j.result, Err: j.err}
	switch {
	case j.err != nil:
		s.State = jobFailed
		s.Text = "The revocation failed; nothing was revoked."
	case j.result != nil:
		s.State = jobDone
		s.Done = j.result.RevokedCount
		s.Total = s.Done
		s.Text = fmt.Sprintf("%d certificates revoked.", s.Done)
	case s.Total > 0 && s.Done == s.Total:
		s.Text = fmt.Sprintf("Marked %d of %d certificates; committing and reissuing the ORL.", s.Done, s.Total)
	case s.Total > 0:
		s.Text = fmt.Sprintf("Marked %d of %d certificates.", s.Done, s.Total)
	default:
		s.Text = "Selecting the party's certificates."
	}
	return s
}

// jobs holds the bulk revocation jobs in memory; a restart forgets them
// (the audit log and the certificates' status keep what they did).
type jobs struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*revokeJob
}

func newJobs(now func() time.Time) *jobs { return &jobs{now: now, m: map[string]*revokeJob{}} }

// start runs svc.Revoke for req as officer's job and returns it; or,
// when officer has maxJobsPerOfficer running or all officers maxJobs,
// the refusal to show. A refused job keeps the RA's refusal as the form
// shows it (another party's is "not found": the RA answers so itself).
func (js *jobs) start(ctx context.Context, svc *ra.Service, a ra.Actor, officer string, req ra.RevokeRequest, party, reason string) (*revokeJob, *formError) {
	js.mu.Lock()
	now := js.now()
	running, mine := 0, 0
	for id, j := range js.m {
		switch fin := j.finishedAt(); {
		case fin.IsZero():
			running++
			if j.Officer == officer {
				mine++
			}
		case now.Sub(fin) >= jobKeep:
			delete(js.m, id)
		}
	}
	if mine >= maxJobsPerOfficer || running >= maxJobs {
		js.mu.Unlock()
		busy := &formError{Code: "E_CONSOLE_BUSY", status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("%d bulk revocations are running on this server.", running),
			Next:    "Try again in a minute, when one has ended."}
		if mine >= maxJobsPerOfficer {
			busy.Message = fmt.Sprintf("You have %d bulk revocations running, as many as one officer may.", mine)
			busy.Next = "Wait for one of them to end (its progress page says when), then confirm again."
		}
		return nil, busy
	}
	j := &revokeJob{ID: secret()[:16], Officer: officer, Party: party, Reason: reason, Started: now,
		started: make(chan struct{}), ended: make(chan struct{})}
	js.m[j.ID] = j
	js.mu.Unlock()
	go func() {
		// The job must not end with the request that confirmed it (the
		// browser moves on to the progress page at once).
		res, err := svc.Revoke(ca.WithRevokeProgress(context.WithoutCancel(ctx), j.observe), a, req)
		j.mu.Lock()
		if err != nil {
			j.err = err
		} else {
			j.result = &res
		}
		j.finished = js.now()
		j.mu.Unlock()
		js.keep(officer)
		close(j.ended)
	}()
	return j, nil
}

// finishedAt is when the job ended; zero while it runs.
func (j *revokeJob) finishedAt() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.finished
}

// keep drops officer's oldest finished jobs past maxKeptPerOfficer.
func (js *jobs) keep(officer string) {
	js.mu.Lock()
	defer js.mu.Unlock()
	var done []*revokeJob
	for _, j := range js.m {
		if j.Officer == officer && !j.finishedAt().IsZero() {
			done = append(done, j)
		}
	}
	if len(done) <= maxKeptPerOfficer {
		return
	}
	slices.SortFunc(done, func(x, y *revokeJob) int { return x.finishedAt().Compare(y.finishedAt()) })
	for _, j := range done[:len(done)-maxKeptPerOfficer] {
		delete(js.m, j.ID)
	}
}

// get returns officer's job id; another officer's job is not there.
func (js *jobs) get(officer, id string) (*revokeJob, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.m[id]
	if !ok || j.Officer != officer {
		return nil, false
	}
	return j, true
}
