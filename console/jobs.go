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
	// confirmTTL is how long a dry run's confirmation may be used: the
	// officer confirms what they have just seen, not a list of an hour ago.
	confirmTTL = 15 * time.Minute
	// maxConfirmsPerOfficer bounds one officer's confirmations held; past
	// it a new dry run drops their oldest (only that officer loses by it).
	maxConfirmsPerOfficer = 16
)

// confirmation is what a dry run of a party's bulk revocation offers its
// confirm step: the revocation of that party, for that reason, by that
// officer, once. The job it started answers it when it comes again (a
// double click, the back button and the form sent again).
type confirmation struct {
	officer, party string
	reason         int
	expires        time.Time
	made           uint64
	job            *revokeJob // the job it started; nil until confirmed
}

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
	mu       sync.Mutex
	now      func() time.Time
	m        map[string]*revokeJob
	confirms map[[32]byte]*confirmation // by the SHA-256 of the token
	made     uint64                     // counts confirmations offered
}

func newJobs(now func() time.Time) *jobs {
	return &jobs{now: now, m: map[string]*revokeJob{}, confirms: map[[32]byte]*confirmation{}}
}

// offer returns the confirmation a dry run of req by officer shows on its
// confirm form, usable for confirmTTL.
func (js *jobs) offer(officer string, req ra.RevokeRequest) string {
	js.mu.Lock()
	defer js.mu.Unlock()
	now := js.now()
	var oldest [32]byte
	n, made := 0, uint64(0)
	for k, c := range js.confirms {
		switch {
		case !now.Before(c.expires):
			delete(js.confirms, k)
		case c.officer == officer:
			if n++; n == 1 || c.made < made {
				oldest, made = k, c.made
			}
		}
	}
	if n >= maxConfirmsPerOfficer {
		delete(js.confirms, oldest)
	}
	tok := secret()
	js.made++
	js.confirms[key(tok)] = &confirmation{officer: officer, party: req.PartyID.String(), reason: req.Reason,
		expires: now.Add(confirmTTL), made: js.made}
	return tok
}

// notConfirmed is the refusal of a confirm step that no dry run of this
// officer's offered (or offered for another party or reason, or too long
// ago): nothing is revoked.
var notConfirmed = &formError{Code: "E_RA_BAD_REQUEST", status: http.StatusBadRequest,
	Message: fmt.Sprintf("This confirmation is not from your dry run of this party's revocation, or is over %v old; nothing was revoked.", confirmTTL),
	Next:    "List what would be revoked again (the dry run), check the list, and confirm from there."}

// start runs svc.Revoke for req as officer's job, confirmed by tok (a dry
// run's offer), and returns it. A confirmation already used returns the
// job it started, again=true, and starts nothing, unless that job failed
// (nothing was revoked: the officer may try again). It returns the
// refusal to show for a confirmation not offered to this officer for this
// party and reason, or when officer has maxJobsPerOfficer running or all
// officers maxJobs. A refused job keeps the RA's refusal as the form
// shows it (another party's is "not found": the RA answers so itself).
func (js *jobs) start(ctx context.Context, svc *ra.Service, a ra.Actor, officer, tok string, req ra.RevokeRequest, party, reason string) (j *revokeJob, again bool, refused *formError) {
	js.mu.Lock()
	now := js.now()
	conf, ok := js.confirms[key(tok)]
	if !ok || tok == "" || !now.Before(conf.expires) || conf.officer != officer || conf.party != req.PartyID.String() || conf.reason != req.Reason {
		js.mu.Unlock()
		return nil, false, notConfirmed
	}
	if conf.job != nil && conf.job.status().State != jobFailed {
		js.mu.Unlock()
		return conf.job, true, nil
	}
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
		return nil, false, busy
	}
	j = &revokeJob{ID: secret()[:16], Officer: officer, Party: party, Reason: reason, Started: now,
		started: make(chan struct{}), ended: make(chan struct{})}
	js.m[j.ID] = j
	conf.job = j
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
	return j, false, nil
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
